package algorithm

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLayoutIsThePackageDoc keeps Root and the layout the package comment documents in step: every place
// Root names is in the comment, and every <root>/ line of the comment is a place Root names.
func TestLayoutIsThePackageDoc(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "algorithm.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, line := range strings.Split(f.Doc.Text(), "\n") {
		if field, _, _ := strings.Cut(strings.TrimSpace(line), " "); strings.HasPrefix(field, "<root>/") {
			documented = append(documented, strings.TrimSuffix(strings.TrimSuffix(field, "/..."), "/"))
		}
	}
	r := Root("<root>")
	named := map[string]string{
		"Hyperparameters": r.Hyperparameters(), "InputDataConfig": r.InputDataConfig(), "ResourceConfig": r.ResourceConfig(),
		"Channel": r.Channel("<channel>"), "ModelDir": r.ModelDir(), "Failure": r.Failure(), "Metrics": r.Metrics(),
	}
	var places []string
	for method, p := range named {
		p = filepath.ToSlash(p)
		places = append(places, p)
		if !slices.Contains(documented, p) {
			t.Errorf("Root.%s is %s, which the package comment does not document (it documents %q)", method, p, documented)
		}
	}
	for _, d := range documented {
		if !slices.Contains(places, d) {
			t.Errorf("the package comment documents %s, which no method of Root names", d)
		}
	}
}
