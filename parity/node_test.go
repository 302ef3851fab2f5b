package parity

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// jsDir is the Node harness's package (parity/js), installed by `npm ci --prefix parity/js`.
const jsDir = "js"

// requireNode fails the test, with how to fix it, when node or the harness's npm packages are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: install Node.js 20 or later (the parity tests run the emitted state machines with it)")
	}
	for _, pkg := range []string{"asl-validator", "aws-local-stepfunctions"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("npm package %s is missing: run `npm ci --prefix parity/js` (make deps does)", pkg)
		}
	}
	return node
}
