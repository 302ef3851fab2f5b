package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/localaws"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults"},
		{name: "loopback v4", args: []string{"--addr", "127.0.0.2:1"}},
		{name: "loopback v6", args: []string{"--addr", "[::1]:1"}},
		{name: "localhost", args: []string{"--addr", "localhost:1"}},
		{name: "all interfaces", args: []string{"--addr", ":4570"}, wantErr: "--allow-remote"},
		{name: "remote", args: []string{"--addr", "10.0.0.1:4570"}, wantErr: "--allow-remote"},
		{name: "remote allowed", args: []string{"--addr", "0.0.0.0:4570", "--allow-remote"}},
		{name: "bad addr", args: []string{"--addr", "nonsense"}, wantErr: "listen address"},
		{name: "image command", args: []string{"--image-command", `.*/mine:.*=/bin/train`, "--image-command", "x=y"}},
		{name: "bad image command", args: []string{"--image-command", "no-equals"}, wantErr: "IMAGE_REGEX=COMMAND"},
		{name: "bad timeout", args: []string{"--function-timeout", "soon"}, wantErr: "function timeout"},
		{name: "negative timeout", args: []string{"--function-timeout", "-1s"}, wantErr: "function timeout"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "log format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "log level"},
		{name: "extra argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, env := range []string{"LOCALAWS_ADDR", "LOCALAWS_DATA_DIR", "LOCALAWS_FUNCTION_TIMEOUT", "LOCALAWS_LOG_FORMAT", "LOCALAWS_LOG_LEVEL", "LOCALAWS_ALLOW_HOSTS", "LOCALAWS_CORS_ORIGINS"} {
				t.Setenv(env, "")
			}
			_, err := parseFlags(tt.args, os.Getenv, io.Discard)
			if tt.wantErr == "" && err != nil {
				t.Errorf("parse %q: %v", tt.args, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("parse %q: got %v, want an error about %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("LOCALAWS_ADDR", "127.0.0.1:9999")
	t.Setenv("LOCALAWS_DATA_DIR", "/tmp/somewhere")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("LOCALAWS_FUNCTION_TIMEOUT", "30s")
	cfg, err := parseFlags(nil, os.Getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:9999" || cfg.dataDir != "/tmp/somewhere" || cfg.region != "eu-west-1" || cfg.functionTimeout != 30*time.Second {
		t.Errorf("config from environment: %+v", cfg)
	}
}

// TestFlagsFromInjectedEnvironment checks that the environment is read only through the getenv run is
// given: the process's own variables are not consulted.
func TestFlagsFromInjectedEnvironment(t *testing.T) {
	t.Setenv("LOCALAWS_XGBOOST", "/from/process")
	t.Setenv("LOCALAWS_ALLOW_HOSTS", "from-process")
	env := map[string]string{
		"LOCALAWS_ADDR": "127.0.0.1:9998", "LOCALAWS_XGBOOST": "/from/getenv", "LOCALAWS_ALLOW_HOSTS": "from-getenv",
		"LOCALAWS_LOG_LEVEL": "debug",
	}
	cfg, err := parseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:9998" || cfg.xgboost != "/from/getenv" || strings.Join(cfg.allowHosts, ",") != "from-getenv" ||
		cfg.logLevel != slog.LevelDebug || cfg.region != localaws.DefaultRegion {
		t.Errorf("config from injected environment: %+v", cfg)
	}
}

func TestAllowHostAndCORSOriginFlags(t *testing.T) {
	t.Setenv("LOCALAWS_ALLOW_HOSTS", "localaws, worker-side")
	t.Setenv("LOCALAWS_CORS_ORIGINS", "http://127.0.0.1:5173")
	cfg, err := parseFlags([]string{"--allow-host", "other:4570", "--cors-origin", "http://localhost:3000"}, os.Getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.allowHosts, " ") != "localaws worker-side other:4570" ||
		strings.Join(cfg.corsOrigins, " ") != "http://127.0.0.1:5173 http://localhost:3000" {
		t.Errorf("allow hosts %q, CORS origins %q", cfg.allowHosts, cfg.corsOrigins)
	}
	for addr, want := range map[string]string{"127.0.0.1:4570": "127.0.0.1", "0.0.0.0:4570": "", "[::]:4570": "", ":4570": "", "10.0.0.5:4570": "10.0.0.5"} {
		if got := strings.Join(listenHosts(addr), ","); got != want {
			t.Errorf("listen hosts of %s: %q, want %q", addr, got, want)
		}
	}
}

// syncBuffer is a bytes buffer safe for the writer goroutine and the reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--xgboost", "/usr/bin/xgboost", "--log-format", "json"}, os.Getenv, stdoutW, stderr)
		stdoutW.Close()
	}()

	lines := bufio.NewScanner(stdoutR)
	if !lines.Scan() {
		t.Fatalf("no startup line; run: %v; logs: %s", <-done, stderr.String())
	}
	first := lines.Text()
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	url, ok := strings.CutPrefix(first, "localaws listening on ")
	if !ok {
		t.Fatalf("startup line %q", first)
	}
	resp, err := http.Get(url + "/_localaws/health")
	if err != nil {
		t.Fatal(err)
	}
	var health struct{ Status string }
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || health.Status != "ok" {
		t.Fatalf("health: %+v, %v", health, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	// One JSON log line for the request, with service, operation and status.
	var found bool
	for _, line := range strings.Split(stderr.String(), "\n") {
		var rec struct {
			Msg, Service, Operation string
			Status                  int
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" {
			found = rec.Service == "localaws" && rec.Operation == "/_localaws/health" && rec.Status == 200
		}
	}
	if !found {
		t.Errorf("no request log line in %s", stderr.String())
	}
}

// TestStartupErrorSaysLocalawsOnce: main prefixes errors with "localaws: ", so run's errors do not.
func TestStartupErrorSaysLocalawsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:0", "--data-dir", file},
		{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--cors-origin", "*"},
		{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--allow-host", "http://localaws/"},
	} {
		err := run(context.Background(), args, os.Getenv, io.Discard, io.Discard)
		if err == nil || strings.HasPrefix(err.Error(), "localaws:") {
			t.Errorf("run %q: %v, want an error without the prefix main adds", args, err)
		}
	}
}

// TestWildcardListenerServesItsFunctions: listening on all interfaces (as in docker compose), the Lambda
// functions reach this process's S3 under a Host the Host check admits.
func TestWildcardListenerServesItsFunctions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "0.0.0.0:0", "--allow-remote", "--data-dir", t.TempDir()}, os.Getenv, stdoutW, io.Discard)
		stdoutW.Close()
	}()
	lines := bufio.NewScanner(stdoutR)
	if !lines.Scan() {
		t.Fatalf("no startup line; run: %v", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	addr, _ := strings.CutPrefix(lines.Text(), "localaws listening on http://")
	_, port, _ := net.SplitHostPort(addr)
	body := `{"WorkflowInput":{"ModelName":"m","DataDate":"2019-10-01"},"S3RootBucket":"no-such-bucket"}`
	resp, err := http.Post("http://127.0.0.1:"+port+"/2015-03-31/functions/"+contract.InitializeTrainingFunction+"/invocations",
		"application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(out), "AccessDenied") || !strings.Contains(string(out), "no-such-bucket") {
		t.Errorf("invoke: %d %s, want a function error about the missing bucket", resp.StatusCode, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
