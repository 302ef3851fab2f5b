package deploycheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ignoreRule is one .dockerignore line.
type ignoreRule struct {
	pattern string
	re      *regexp.Regexp
	negate  bool
}

// parseDockerignore reads .dockerignore the way Docker does: one pattern a line, # comments, ! for exceptions,
// * and ? within a path element, ** across elements; the last matching line decides.
func parseDockerignore(b []byte) ([]ignoreRule, error) {
	var rules []ignoreRule
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{pattern: line}
		if p, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, strings.TrimSpace(p)
		}
		line = strings.TrimPrefix(path.Clean(filepath.ToSlash(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		var err error
		if r.re, err = regexp.Compile(re.String()); err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, sc.Err()
}

// ignored says whether Docker leaves the file at rel (slash-separated, relative to the context) out of the
// build context: a pattern that matches the file or one of its parent directories excludes it.
func ignored(rules []ignoreRule, rel string) bool {
	var candidates []string
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		candidates = append(candidates, p)
	}
	out := false
	for _, r := range rules {
		for _, c := range candidates {
			if r.re.MatchString(c) {
				out = !r.negate
				break
			}
		}
	}
	return out
}

// mustIgnore are paths that must stay out of the build context: large, local or secret.
var mustIgnore = []string{
	".git/HEAD", ".bin/temporal", ".data/localaws/state.json", "dist/lambdas/initialize-training-amd64.zip",
	"parity/js/node_modules/asl-validator/package.json", "lambdas.test", "localaws/localaws.test", ".env",
}

// checkDockerignore returns the invariants .dockerignore breaks: it must exclude mustIgnore and keep every
// file the build stage compiles (go.mod, go.sum and the non-test Go files).
func checkDockerignore(src sources) problems {
	var ps problems
	rules, err := parseDockerignore(src.dockerignore)
	if err != nil {
		ps.add("%v", err)
		return ps
	}
	for _, p := range mustIgnore {
		if !ignored(rules, p) {
			ps.add("%s is sent to the Docker daemon: exclude it", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum"} {
		if ignored(rules, p) {
			ps.add("%s is excluded, but the build stage needs it", p)
		}
	}
	err = filepath.WalkDir(src.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src.root, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !e.IsDir() && strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") && !strings.Contains("/"+rel, "/testdata/") && ignored(rules, rel) {
			ps.add("%s is excluded, but the build stage compiles it", rel)
		}
		return nil
	})
	if err != nil {
		ps.add("walk the module: %v", err)
	}
	return ps
}

func TestDockerignore(t *testing.T) {
	report(t, ".dockerignore", checkDockerignore(readSources(t)))
}

func TestIgnored(t *testing.T) {
	rules, err := parseDockerignore([]byte("# comment\n.git\n**/node_modules\n*.test\ndocs/*.md\n!docs/keep.md\n/abs\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{".git", true},
		{".git/objects/ab/cd", true},
		{"sub/.git", false}, // patterns are anchored at the context root
		{"node_modules/x", true},
		{"parity/js/node_modules/x/y.js", true},
		{"lambdas.test", true},
		{"localaws/localaws.test", false}, // * does not cross /
		{"docs/a.md", true},
		{"docs/keep.md", false},
		{"docs/sub/a.md", false},
		{"abs", true},
		{"main.go", false},
	} {
		if got := ignored(rules, tt.path); got != tt.want {
			t.Errorf("ignored(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
