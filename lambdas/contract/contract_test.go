package contract

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedDeps are the packages outside the standard library the contract may depend on: small ones of this
// module that depend on nothing else (strictjson decodes a request's nested Champion as strictly as the request).
var allowedDeps = map[string]bool{"github.com/mdlc/mdlc/internal/quote": true, "github.com/mdlc/mdlc/internal/strictjson": true}

// TestContractIsDependencyFree: callers import the contract so as not to link the handlers, aws-lambda-go or
// an AWS SDK; a dependency on any of them (or anything outside the standard library) fails here.
func TestContractIsDependencyFree(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test lists the package's dependencies with the go command: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/mdlc/mdlc/lambdas/contract" && !allowedDeps[dep] {
			t.Errorf("the contract depends on %s; keep it to the standard library (and %v)", dep, allowedDeps)
		}
	}
}

// TestCallersDoNotLinkTheHandlers: the activities, the workflows, parity and the pipeline flags speak to
// the functions through the contract alone, without the handler package or aws-lambda-go.
func TestCallersDoNotLinkTheHandlers(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test lists the callers' dependencies with the go command: %v", err)
	}
	for _, pkg := range []string{"activities", "workflows", "parity", "internal/pipelineflags"} {
		out, err := exec.Command(goTool, "list", "-deps", "github.com/mdlc/mdlc/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "github.com/mdlc/mdlc/lambdas" || strings.HasPrefix(dep, "github.com/aws/aws-lambda-go") {
				t.Errorf("%s depends on %s; use package lambdas/contract instead", pkg, dep)
			}
		}
	}
}

func TestPermanent(t *testing.T) {
	for _, typ := range PermanentErrors() {
		if !Permanent(typ) {
			t.Errorf("Permanent(%q) = false for a permanent error", typ)
		}
	}
	for _, typ := range []string{ErrorS3, ErrorInternal, "Lambda.Unhandled", ""} {
		if Permanent(typ) {
			t.Errorf("Permanent(%q) = true; it is worth retrying", typ)
		}
	}
}
