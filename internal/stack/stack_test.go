package stack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]Backend{"": BackendDev, "dev": BackendDev, "cluster": BackendCluster} {
		got, err := ParseBackend(in)
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseBackend("postgres" + strings.Repeat("x", 100))
	if err == nil || !strings.Contains(err.Error(), `"dev"`) || !strings.Contains(err.Error(), `"cluster"`) || strings.Contains(err.Error(), strings.Repeat("x", 50)) {
		t.Errorf("want an error naming both backends and quoting a short prefix, got %v", err)
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	t.Setenv("MDLC_TEMPORAL_BIN", "/bin/true")
	for name, c := range map[string]struct {
		opts Options
		want string
	}{
		"unknown backend":       {Options{Backend: "sqlite"}, "unknown Temporal backend"},
		"negative workers":      {Options{Workers: -1}, "give at least 1"},
		"cluster without tools": {Options{Backend: BackendCluster}, "make cluster-deps"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, v := range clusterTools {
				t.Setenv(v, "")
			}
			c.opts.Dir = filepath.Join(t.TempDir(), "stack")
			_, err := Start(context.Background(), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Start: %v; want an error containing %q", err, c.want)
			}
			if _, err := os.Stat(c.opts.Dir); !os.IsNotExist(err) {
				t.Errorf("Start created %s before refusing the options", c.opts.Dir)
			}
		})
	}
}

// TestStackScriptRefusesBadSettings runs scripts/stack.sh with settings it must refuse before starting anything.
func TestStackScriptRefusesBadSettings(t *testing.T) {
	for name, c := range map[string]struct{ env, want string }{
		"unknown backend": {"MDLC_TEMPORAL=sqlite", "use dev (the default) or cluster"},
		"zero workers":    {"MDLC_WORKERS=0", "from 1 to 99"},
		"words":           {"MDLC_WORKERS=three", "from 1 to 99"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(filepath.Join(ModuleRoot(), "scripts", "stack.sh"), "up")
			cmd.Env = append(os.Environ(), "MDLC_DATA_DIR="+dir, c.env)
			out, err := cmd.CombinedOutput()
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
				t.Fatalf("stack.sh up with %s: %v\n%s\nwant exit 2 and %q", c.env, err, out, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("stack.sh created %v in the data directory before refusing", entries)
			}
		})
	}
}

// TestWithLogLeavesOutStackTraces: the server's fatal line carries its error and a stack trace longer than
// the excerpt; the excerpt keeps the error.
func TestWithLogLeavesOutStackTraces(t *testing.T) {
	dir := t.TempDir()
	trace := strings.Repeat(`go.uber.org/dig.paramList.BuildList\n\t/root/go/pkg/mod/go.uber.org/dig@v1.18.0/param.go:151\n`, 100)
	line := `{"level":"fatal","msg":"Unable to start server","error":"listen tcp 127.0.0.1:7233: bind: address already in use","stacktrace":"` + trace + `\"quoted\""}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "temporal.log"), []byte(`{"level":"info","msg":"starting"}`+"\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Stack{opts: Options{Dir: dir}}
	err := s.withLog("temporal", errExited)
	if !strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "dig.paramList") {
		t.Errorf("excerpt without the error or with the stack trace:\n%v", err)
	}
}

// TestFreePortsBelowTheEphemeralRange: the stack's servers get ports no outgoing connection is given.
func TestFreePortsBelowTheEphemeralRange(t *testing.T) {
	ports, err := freePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < 20000 || p >= 32768 || seen[p] {
			t.Errorf("port %d: want distinct ports in [20000, 32768)", p)
		}
		seen[p] = true
	}
}
