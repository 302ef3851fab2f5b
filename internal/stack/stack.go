// Package stack starts the local mdlc stack as separate processes — the Temporal dev server, localaws and the
// worker — for integration, crash and benchmark runs. Each process can be killed and restarted on its own, and
// all state lives in one directory, so a restarted process finds what its predecessor left.
package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/temporalconn"
)

// Options configure a Stack.
type Options struct {
	// Dir holds the binaries, the state of every process and their logs.
	Dir string
	// Temporal is the path of the Temporal CLI; $MDLC_TEMPORAL_BIN, then "temporal" on PATH, when empty.
	Temporal string
	// WorkerArgs are extra flags for the worker.
	WorkerArgs []string
	// WorkerEnv are extra environment variables (KEY=VALUE) for the worker.
	WorkerEnv []string
	// LocalAWSArgs are extra flags for localaws.
	LocalAWSArgs []string
}

// Stack is a running local stack.
type Stack struct {
	opts Options
	// TemporalAddress is the dev server's gRPC address, UIAddress its web UI, LocalAWS the localaws endpoint URL.
	TemporalAddress, UIAddress, LocalAWS string
	// MetricsAddress is the worker's Prometheus endpoint.
	MetricsAddress string

	mu                         sync.Mutex
	temporal, localaws, worker *exec.Cmd
	bins                       map[string]string
}

// Binaries the stack builds from this module.
var packages = map[string]string{
	"localaws": "./localaws/cmd/localaws",
	"worker":   "./worker",
}

// ModuleRoot returns the root directory of this module's source tree.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build compiles the stack's binaries into dir and returns their paths by name.
func Build(ctx context.Context, dir string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range packages {
		out := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = ModuleRoot()
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %w\n%s", pkg, err, b)
		}
		bins[name] = out
	}
	return bins, nil
}

// Start builds the binaries and starts the three processes, waiting until each answers.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Temporal == "" {
		opts.Temporal = os.Getenv("MDLC_TEMPORAL_BIN")
	}
	if opts.Temporal == "" {
		p, err := exec.LookPath("temporal")
		if err != nil {
			return nil, errors.New("no Temporal CLI: run `make deps` (it builds the pinned version) or set MDLC_TEMPORAL_BIN")
		}
		opts.Temporal = p
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create stack directory: %w", err)
	}
	bins, err := Build(ctx, filepath.Join(opts.Dir, "bin"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		opts:            opts,
		bins:            bins,
		TemporalAddress: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		UIAddress:       fmt.Sprintf("127.0.0.1:%d", ports[1]),
		LocalAWS:        fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		MetricsAddress:  fmt.Sprintf("127.0.0.1:%d", ports[3]),
	}
	if err := s.StartTemporal(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.StartLocalAWS(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.StartWorker(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Stack) logFile(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(s.opts.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// Log returns what the named process ("temporal", "localaws", "worker") has logged so far.
func (s *Stack) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.opts.Dir, name+".log"))
	return string(b)
}

func (s *Stack) start(name string, cmd *exec.Cmd) error {
	log, err := s.logFile(name)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); log.Close() }()
	return nil
}

// StartTemporal starts the dev server on the stack's database file, with the mdlc search attributes.
func (s *Stack) StartTemporal(ctx context.Context) error {
	_, uiPort, _ := net.SplitHostPort(s.UIAddress)
	_, port, _ := net.SplitHostPort(s.TemporalAddress)
	cmd := exec.Command(s.opts.Temporal, "server", "start-dev",
		"--ip", "127.0.0.1", "--port", port, "--ui-port", uiPort,
		"--db-filename", filepath.Join(s.opts.Dir, "temporal.db"),
		"--search-attribute", "ModelName=Keyword", "--search-attribute", "DataDate=Keyword",
		"--log-level", "warn")
	if err := s.start("temporal", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.temporal = cmd
	s.mu.Unlock()
	return waitFor(ctx, 60*time.Second, "Temporal dev server", func(ctx context.Context) error {
		c, err := temporalconn.Dial(ctx, temporalconn.Options{Address: s.TemporalAddress, ConnectTimeout: 2 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
}

// StartLocalAWS starts localaws on the stack's data directory.
func (s *Stack) StartLocalAWS(ctx context.Context) error {
	args := append([]string{"--addr", s.LocalAWS[len("http://"):], "--data-dir", filepath.Join(s.opts.Dir, "localaws")}, s.opts.LocalAWSArgs...)
	cmd := exec.Command(s.bins["localaws"], args...)
	if err := s.start("localaws", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.localaws = cmd
	s.mu.Unlock()
	return waitFor(ctx, 30*time.Second, "localaws", func(ctx context.Context) error {
		return httpOK(ctx, s.LocalAWS+"/_localaws/health")
	})
}

// StartWorker starts a worker against the stack.
func (s *Stack) StartWorker(ctx context.Context) error {
	args := append([]string{
		"--temporal-address", s.TemporalAddress, "--endpoint-url", s.LocalAWS,
		"--metrics-addr", s.MetricsAddress, "--log-format", "json",
	}, s.opts.WorkerArgs...)
	cmd := exec.Command(s.bins["worker"], args...)
	cmd.Env = append(os.Environ(), s.opts.WorkerEnv...)
	if err := s.start("worker", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.worker = cmd
	s.mu.Unlock()
	return waitFor(ctx, 30*time.Second, "worker", func(ctx context.Context) error {
		return httpOK(ctx, "http://"+s.MetricsAddress+"/metrics")
	})
}

// KillWorker kills the worker with SIGKILL, as a crash would, and waits until it is gone.
func (s *Stack) KillWorker() error { return s.kill(&s.worker, syscall.SIGKILL) }

// KillTemporal kills the dev server with SIGKILL.
func (s *Stack) KillTemporal() error { return s.kill(&s.temporal, syscall.SIGKILL) }

// KillLocalAWS kills localaws with SIGKILL.
func (s *Stack) KillLocalAWS() error { return s.kill(&s.localaws, syscall.SIGKILL) }

func (s *Stack) kill(p **exec.Cmd, sig syscall.Signal) error {
	s.mu.Lock()
	cmd := *p
	*p = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	// The whole process group: the dev server and xgboost children go too.
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(cmd.Process.Pid, 0); err != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("process %d did not exit after signal %v", cmd.Process.Pid, sig)
}

// Stop ends every process: SIGTERM, then SIGKILL for what is left.
func (s *Stack) Stop() {
	for _, p := range []**exec.Cmd{&s.worker, &s.localaws, &s.temporal} {
		s.mu.Lock()
		cmd := *p
		s.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for syscall.Kill(cmd.Process.Pid, 0) == nil {
				time.Sleep(20 * time.Millisecond)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
		}
		_ = s.kill(p, syscall.SIGKILL)
	}
}

// Client connects to the stack's Temporal server.
func (s *Stack) Client(ctx context.Context) (client.Client, error) {
	return temporalconn.Dial(ctx, temporalconn.Options{Address: s.TemporalAddress})
}

// Env returns the environment (KEY=VALUE) that points the starter and AWS SDKs at this stack.
func (s *Stack) Env() []string {
	return []string{
		"TEMPORAL_ADDRESS=" + s.TemporalAddress,
		"AWS_ENDPOINT_URL=" + s.LocalAWS,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=localaws", "AWS_SECRET_ACCESS_KEY=localaws",
		"MDLC_UI_ADDRESS=http://" + s.UIAddress,
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, l)
		_, p, _ := net.SplitHostPort(l.Addr().String())
		port, _ := strconv.Atoi(p)
		ports = append(ports, port)
	}
	return ports, nil
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	return nil
}

func waitFor(ctx context.Context, limit time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", what, limit, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
