package algorithm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestIsXGBoostImage(t *testing.T) {
	tests := []struct {
		image string
		want  bool
	}{
		{"433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1", true},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", true},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-cpu-py3", true},
		{"390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/xgboost:latest", true},
		{"246785580436.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-xgboost:1.5-1", true},
		{"813361260812.dkr.ecr.eu-central-1.amazonaws.com/xgboost", true},
		{"683313688378.dkr.ecr-fips.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", true},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + strings.Repeat("ab", 32), true},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:1", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost-custom:1", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/team/xgboost:1", false},
		{"docker.io/library/xgboost:1", false},
		{"xgboost:1", false},
		{"xgboost", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com.evil.com/xgboost:1", false},
		{"68331368837.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1 ", false},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsXGBoostImage(tt.image); got != tt.want {
			t.Errorf("IsXGBoostImage(%q) = %v, want %v", tt.image, got, tt.want)
		}
	}
}

func contractScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "contract-algorithm.sh"))
	must(t, err)
	return p
}

func TestResolver(t *testing.T) {
	script := contractScript(t)
	r, err := NewResolver(Config{XGBoost: xgboostProgram, Commands: map[string]string{
		`.*/my-algo:.*`:                        script,
		`.*/both:.*`:                           script,
		`.*/(both|other):.*`:                   script,
		`123456789012\.dkr\.ecr\..*/xgboost:2`: script, // overrides the built-in mapping
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		image   string
		want    string // "xgboost", "command", or an error
		wantErr string
	}{
		{"433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1", "xgboost", ""},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost", ""},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/xgboost:2", "command", ""},
		{"example.com/my-algo:3", "command", ""},
		{"example.com/my-algo", "", `image "example.com/my-algo" is not supported locally`},
		{"prefix example.com/my-algo:3x", "command", ""},
		{"example.com/both:1", "", "matches several image command patterns"},
		{"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", "", "--image-command REGEX=COMMAND"},
	}
	for _, tt := range tests {
		a, err := r.Resolve(tt.image)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Resolve(%q) error = %v, want %q", tt.image, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.image, err)
			continue
		}
		var got string
		switch a.(type) {
		case *XGBoost:
			got = "xgboost"
		case *Command:
			got = "command"
		}
		if got != tt.want {
			t.Errorf("Resolve(%q) = %T, want %s", tt.image, a, tt.want)
		}
	}
}

func TestNewResolverErrors(t *testing.T) {
	script := contractScript(t)
	notExec := filepath.Join(t.TempDir(), "plain")
	must(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"missing xgboost", Config{XGBoost: "/nonexistent/xgboost"}, `xgboost program "/nonexistent/xgboost"`},
		{"not xgboost", Config{XGBoost: "/bin/true"}, "not an XGBoost version"},
		{"bad pattern", Config{XGBoost: xgboostProgram, Commands: map[string]string{"(": script}}, `image pattern "("`},
		{"missing command", Config{XGBoost: xgboostProgram, Commands: map[string]string{"x": "/nonexistent/cmd"}}, `algorithm command "/nonexistent/cmd"`},
		{"not executable", Config{XGBoost: xgboostProgram, Commands: map[string]string{"x": notExec}}, "permission denied"},
		{"empty command", Config{XGBoost: xgboostProgram, Commands: map[string]string{"x": ""}}, "empty program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewResolver(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewResolver error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCommandTrainAndPredict(t *testing.T) {
	c, err := NewCommand(contractScript(t))
	must(t, err)
	root := makeJob(t, map[string]string{"k": "v"}, map[string]channel{
		"train": {"text/csv", map[string]string{"a.csv": "1,2\n3,4\n", "b.csv": "5,6\n"}},
	})
	var logs strings.Builder
	metrics, err := c.Train(context.Background(), root, &logs)
	if err != nil {
		t.Fatalf("Train: %v\n%s", err, logs.String())
	}
	if len(metrics) != 1 || metrics[0] != (Metric{"train:records", 3}) {
		t.Errorf("metrics = %v, want train:records=3", metrics)
	}
	if !strings.Contains(logs.String(), "trained on 3 records") {
		t.Errorf("logs = %q", logs.String())
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "x.csv"), filepath.Join(dir, "x.csv.out")
	must(t, os.WriteFile(in, []byte("1\n2\n"), 0o644))
	must(t, c.Predict(context.Background(), filepath.Join(root, "model"), in, out))
	got, err := os.ReadFile(out)
	must(t, err)
	if string(got) != "3\n3\n" {
		t.Errorf("predictions = %q, want %q", got, "3\n3\n")
	}

	failing := makeJob(t, map[string]string{"mode": "fail"}, map[string]channel{"train": {"text/csv", map[string]string{"a": "1\n"}}})
	if _, err := c.Train(context.Background(), failing, nil); err == nil || err.Error() != "ClientError: told to fail" {
		t.Errorf("failing Train error = %v, want the failure file's reason", err)
	}
	crashing := makeJob(t, map[string]string{"mode": "crash"}, map[string]channel{"train": {"text/csv", map[string]string{"a": "1\n"}}})
	_, err = c.Train(context.Background(), crashing, nil)
	want := "AlgorithmError: contract-algorithm.sh train: exit status 3: boom"
	if err == nil || err.Error() != want {
		t.Errorf("crashing Train error = %v, want %q", err, want)
	}
	if b, _ := os.ReadFile(filepath.Join(crashing, "output", "failure")); string(b) != want {
		t.Errorf("failure file = %q, want %q", b, want)
	}
	err = c.Predict(context.Background(), filepath.Join(dir, "no-model"), in, out)
	if err == nil || !strings.Contains(err.Error(), "predict") {
		t.Errorf("Predict without a model: %v", err)
	}
}

// TestCommandTrainCancel checks that cancelling kills the command's whole process group, including a child
// the script started.
func TestCommandTrainCancel(t *testing.T) {
	c, err := NewCommand(contractScript(t))
	must(t, err)
	root := makeJob(t, map[string]string{"mode": "sleep"}, map[string]channel{"train": {"text/csv", map[string]string{"a": "1\n"}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Train(ctx, root, nil)
		done <- err
	}()
	pidFile := filepath.Join(root, "sleeper.pid")
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0; {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("the script did not start its child within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Train error = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Train did not return after cancellation")
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil || strings.Contains(string(stat), ") Z ") || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			break // gone, or a zombie waiting for init to reap it
		}
		if time.Now().After(deadline) {
			t.Fatalf("the script's child %d survived cancellation", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
