package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestStepsGoThroughTheStepRunner keeps the start/execute/fail/done sequence in one place: outside step.go,
// no workflow code executes an activity or a child workflow, sets activity options or marks a step done
// itself, so a new step cannot forget to record its start, its failure or its end.
func TestStepsGoThroughTheStepRunner(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	only := map[string]string{
		"ExecuteActivity":      "step.go",
		"ExecuteChildWorkflow": "step.go",
		"WithActivityOptions":  "step.go",
	}
	// Steps without an activity (the decision) finish through tracker methods; done itself is the runner's.
	trackerOnly := map[string]string{"done": "step.go"}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, _ := sel.X.(*ast.Ident)
			if x == nil {
				return true
			}
			checked++
			if want, ok := only[sel.Sel.Name]; ok && x.Name == "workflow" && f != want {
				t.Errorf("%s: workflow.%s outside %s: run the step with runActivityStep or runStep", fset.Position(call.Pos()), sel.Sel.Name, want)
			}
			if want, ok := trackerOnly[sel.Sel.Name]; ok && x.Name == "t" && f != want && f != "progress.go" {
				t.Errorf("%s: t.%s outside %s: run the step with runActivityStep or runStep", fset.Position(call.Pos()), sel.Sel.Name, want)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no calls found: the test looked in the wrong place")
	}
}
