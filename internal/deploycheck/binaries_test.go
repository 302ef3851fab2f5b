package deploycheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeListsEveryBinary: the README's layout section names every main package of the module, so a new
// program cannot be added without saying what it is.
func TestReadmeListsEveryBinary(t *testing.T) {
	root := readSources(t).root
	out, err := exec.Command("go", "list", "-C", root, "-f", "{{if eq .Name \"main\"}}{{.Dir}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	layout := string(readme)
	if i := strings.Index(layout, "## Layout"); i >= 0 {
		layout = layout[i:]
	} else {
		t.Fatal("README.md has no Layout section")
	}
	mains := strings.Fields(string(out))
	if len(mains) == 0 {
		t.Fatal("go list found no main package")
	}
	for _, dir := range mains {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		// The Lambda functions share a row: lambdas/cmd/initialize-training, `initialize-inference`, ...
		if !strings.Contains(layout, "`"+rel+"`") && !strings.Contains(layout, "`"+rel+"/`") && !strings.Contains(layout, "`"+filepath.Base(rel)+"`") {
			t.Errorf("README.md's Layout section does not name the program %s", rel)
		}
	}
}
