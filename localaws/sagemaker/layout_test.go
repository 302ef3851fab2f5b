package sagemaker

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestContainerLayoutHasOneAuthor: package algorithm owns the training-container layout (algorithm.Root),
// so the service names none of its places itself; a literal of the layout here fails.
func TestContainerLayoutHasOneAuthor(t *testing.T) {
	layout := []string{"input/config", "input/data", "output/failure", "output/metrics.json", "config", "data", "failure",
		"hyperparameters.json", "inputdataconfig.json", "resourceconfig.json"}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		n++
		ast.Inspect(f, func(node ast.Node) bool {
			lit, ok := node.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, l := range layout {
				if v == l || strings.Contains(v, "/"+l) || strings.HasPrefix(v, l+"/") {
					t.Errorf("%s spells the container layout (%q): use algorithm.Root", fset.Position(lit.Pos()), v)
				}
			}
			return true
		})
	}
	if n < 5 {
		t.Fatalf("found only %d Go files", n)
	}
}
