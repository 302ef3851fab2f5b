package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mdlc/mdlc/workflows"
)

// searchAttributesFile is the list of search attributes the shell setups register.
const searchAttributesFile = "deploy/temporal/search-attributes"

// TestSearchAttributesFile: deploy/temporal/search-attributes, which scripts/stack.sh (`make up`) and
// deploy/temporal/cluster.sh register, lists exactly the workflows' search attributes with their types, and
// both scripts read it. (docker-compose.yml is held to the same list by TestCompose and
// TestComposeClusterProfile; internal/stack registers workflows.SearchAttributes itself.)
func TestSearchAttributesFile(t *testing.T) {
	root := readSources(t).root
	data, err := os.ReadFile(filepath.Join(root, searchAttributesFile))
	if err != nil {
		t.Fatal(err)
	}
	if problems := searchAttributeProblems(string(data)); len(problems) > 0 {
		t.Errorf("%s:\n%s", searchAttributesFile, strings.Join(problems, "\n"))
	}
	for _, script := range []string{"scripts/stack.sh", "deploy/temporal/cluster.sh"} {
		src, err := os.ReadFile(filepath.Join(root, script))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), filepath.Base(searchAttributesFile)) {
			t.Errorf("%s does not read %s: it would register another list", script, searchAttributesFile)
		}
	}
}

// searchAttributeProblems compares a search-attributes file with workflows.SearchAttributes.
func searchAttributeProblems(file string) []string {
	var got []string
	for _, line := range strings.Split(file, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			got = append(got, line)
		}
	}
	var want, problems []string
	for _, attr := range workflows.SearchAttributes() {
		if attr.IndexedType() == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			problems = append(problems, "workflows.SearchAttributes: "+attr.Name+" has no Temporal type "+attr.Type)
		}
		want = append(want, attr.Name+"="+attr.Type)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			problems = append(problems, "missing "+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			problems = append(problems, "not a search attribute of the workflows (workflows.SearchAttributes): "+g)
		}
	}
	return problems
}

// TestSearchAttributeProblemsCatchBreakage: a missing line, a wrong type and an extra line are each reported.
func TestSearchAttributeProblemsCatchBreakage(t *testing.T) {
	var lines []string
	for _, attr := range workflows.SearchAttributes() {
		lines = append(lines, attr.Name+"="+attr.Type)
	}
	if p := searchAttributeProblems("# comment\n" + strings.Join(lines, "\n") + "\n"); len(p) > 0 {
		t.Fatalf("the workflows' own list has problems: %v", p)
	}
	for name, file := range map[string]string{
		"missing":    strings.Join(lines[1:], "\n"),
		"wrong type": strings.Replace(strings.Join(lines, "\n"), "AUC=Double", "AUC=Keyword", 1),
		"extra":      strings.Join(lines, "\n") + "\nColour=Keyword",
	} {
		if p := searchAttributeProblems(file); len(p) == 0 {
			t.Errorf("%s: no problem reported", name)
		}
	}
}
