package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// problems collects the invariants a file breaks, so that the same checks serve the tests of the real files
// and the tests that break the files on purpose (TestChecksCatchBreakage).
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// sources are the files the checks read. The container definitions can be replaced (to test the checks);
// go.mod, the Makefile and the Go packages are always read from root.
type sources struct {
	root                              string
	dockerfile, compose, dockerignore []byte
}

func readSources(t *testing.T) sources {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	s := sources{root: root}
	for name, dst := range map[string]*[]byte{"Dockerfile": &s.dockerfile, "docker-compose.yml": &s.compose, ".dockerignore": &s.dockerignore} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		*dst = b
	}
	return s
}

// goVersion returns the Go version go.mod asks for: its toolchain line, else its go line.
func goVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	if m := regexp.MustCompile(`(?m)^toolchain go(\S+)\s*$`).FindSubmatch(b); m != nil {
		return string(m[1]), nil
	}
	if m := regexp.MustCompile(`(?m)^go (\S+)\s*$`).FindSubmatch(b); m != nil {
		return string(m[1]), nil
	}
	return "", fmt.Errorf("go.mod has no go line")
}

// makefileVar returns the default of NAME ?= value (or := or =) in the Makefile.
func makefileVar(root, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*[?:]?=\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("the Makefile does not set %s", name)
	}
	return string(m[1]), nil
}

func report(t *testing.T, file string, ps problems) {
	t.Helper()
	for _, p := range ps {
		t.Errorf("%s: %s", file, p)
	}
}
