package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds the starter and checks what a shell sees: exit codes, and errors as one line on stderr
// prefixed with the program's name.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "starter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		env        []string
		code       int
		stdout     string
		stderrLine string
	}{
		{"help", []string{"help"}, nil, 0, "Subcommands:", ""},
		{"unknown subcommand", []string{"frobnicate"}, nil, 2, "", `starter: unknown subcommand "frobnicate": run ` + "`starter help`" + ` for the list of subcommands`},
		{"bad threshold", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "2"}, nil, 2, "", "starter: invalid request: threshold 2 must be a number in [0, 1]"},
		{"unreachable temporal", []string{"status", "x"}, []string{"TEMPORAL_ADDRESS=127.0.0.1:1"}, 1, "", "starter: cannot reach Temporal at 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if tc.stderrLine != "" {
				if !strings.HasPrefix(stderr.String(), tc.stderrLine) || strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("stderr %q: want one line starting %q", stderr.String(), tc.stderrLine)
				}
			} else if stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
		})
	}
}
