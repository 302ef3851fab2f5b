// Package stack starts the local mdlc stack as separate processes — a Temporal server, localaws and one or more
// workers on one task queue — for integration, crash and benchmark runs. Each process can be killed and
// restarted on its own, and all state lives in one directory, so a restarted process finds what its
// predecessor left.
//
// The Temporal server is the CLI's dev server (BackendDev, the default) or Temporal's own server on PostgreSQL
// (BackendCluster: PostgreSQL, the server and its web UI, set up by deploy/temporal/cluster.sh with the pinned
// tools `make cluster-deps` builds, named by $MDLC_TEMPORAL_SERVER_BIN, $MDLC_TEMPORAL_SQL_TOOL_BIN and
// $MDLC_TEMPORAL_UI_BIN).
package stack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/workflows"
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
	// Backend is the Temporal server: BackendDev when empty.
	Backend Backend
	// Workers is how many worker processes poll the task queue; 1 when zero.
	Workers int
}

// Backend names a kind of Temporal server.
type Backend string

const (
	// BackendDev is the Temporal CLI's dev server: one process, SQLite.
	BackendDev Backend = "dev"
	// BackendCluster is Temporal's server on PostgreSQL (deploy/temporal).
	BackendCluster Backend = "cluster"
)

// ParseBackend reads a backend name as $MDLC_TEMPORAL gives it ("" is the dev server).
func ParseBackend(s string) (Backend, error) {
	switch Backend(s) {
	case "", BackendDev:
		return BackendDev, nil
	case BackendCluster:
		return BackendCluster, nil
	}
	return "", fmt.Errorf("unknown Temporal backend %q: use %q (the dev server) or %q (Temporal server on PostgreSQL)", prefix(s), BackendDev, BackendCluster)
}

func prefix(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// clusterTools are the environment variables that name the cluster's pinned tools.
var clusterTools = []string{"MDLC_TEMPORAL_SERVER_BIN", "MDLC_TEMPORAL_SQL_TOOL_BIN", "MDLC_TEMPORAL_UI_BIN"}

// Stack is a running local stack.
type Stack struct {
	opts Options
	// TemporalAddress is the dev server's gRPC address, UIAddress its web UI, LocalAWS the localaws endpoint URL.
	TemporalAddress, UIAddress, LocalAWS string
	// MetricsAddress is the first worker's Prometheus endpoint; MetricsAddresses every worker's, by index.
	MetricsAddress   string
	MetricsAddresses []string

	mu                               sync.Mutex
	temporal, localaws, postgres, ui *exec.Cmd
	workers                          []*exec.Cmd
	bins                             map[string]string
	pgPort                           int
	clusterEnv                       []string
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
	backend, err := ParseBackend(string(opts.Backend))
	if err != nil {
		return nil, err
	}
	opts.Backend = backend
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Workers < 0 {
		return nil, fmt.Errorf("workers is %d: give at least 1", opts.Workers)
	}
	if backend == BackendCluster {
		for _, v := range clusterTools {
			if os.Getenv(v) == "" {
				return nil, fmt.Errorf("the cluster backend needs $%s: run `make cluster-deps` (it builds the pinned tools) and set %s (make test does)", v, strings.Join(clusterTools, ", "))
			}
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create stack directory: %w", err)
	}
	bins, err := Build(ctx, filepath.Join(opts.Dir, "bin"))
	if err != nil {
		return nil, err
	}
	// Temporal and its UI; for the cluster PostgreSQL and the server's internal ports. localaws and the workers'
	// metrics listen on ports they pick themselves (see StartLocalAWS).
	ports, err := freePorts(2 + 4)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		opts:             opts,
		bins:             bins,
		TemporalAddress:  fmt.Sprintf("127.0.0.1:%d", ports[0]),
		UIAddress:        fmt.Sprintf("127.0.0.1:%d", ports[1]),
		workers:          make([]*exec.Cmd, opts.Workers),
		MetricsAddresses: make([]string, opts.Workers),
	}
	if backend == BackendCluster {
		internal := ports[2:]
		s.pgPort = internal[0]
		for i, name := range []string{"HISTORY_PORT", "MATCHING_PORT", "WORKER_PORT"} {
			s.clusterEnv = append(s.clusterEnv, fmt.Sprintf("MDLC_CLUSTER_%s=%d", name, internal[1+i]))
		}
		// The server records membership ports in a smallint column: they must be below 32768, as freePorts'
		// are.
		low, err := freePorts(4)
		if err != nil {
			return nil, err
		}
		for i, name := range []string{"FRONTEND_MEMBERSHIP_PORT", "HISTORY_MEMBERSHIP_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_MEMBERSHIP_PORT"} {
			s.clusterEnv = append(s.clusterEnv, fmt.Sprintf("MDLC_CLUSTER_%s=%d", name, low[i]))
		}
		_, uiPort, _ := net.SplitHostPort(s.UIAddress)
		s.clusterEnv = append(s.clusterEnv, "TEMPORAL_ADDRESS="+s.TemporalAddress, "MDLC_UI_PORT="+uiPort,
			"MDLC_TEMPORAL_BIN="+opts.Temporal)
		if err := s.startPostgres(ctx); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.startTemporalOnFreePorts(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	if backend == BackendCluster {
		if err := s.setUpCluster(ctx); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.StartLocalAWS(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	for i := range opts.Workers {
		if err := s.StartWorkerAt(ctx, i); err != nil {
			s.Stop()
			return nil, err
		}
	}
	s.MetricsAddress = s.MetricsAddresses[0]
	return s, nil
}

// startTemporalOnFreePorts starts the dev server, and again on other ports (three tries) when a port that
// freePorts found free was taken before the server bound it: the dev server's own internal ports are picked
// the same way, by it and by every other stack on the machine. The cluster's ports are set up before its
// PostgreSQL starts and are not tried again.
func (s *Stack) startTemporalOnFreePorts(ctx context.Context) error {
	for try := 1; ; try++ {
		offset := s.logSize("temporal")
		err := s.StartTemporal(ctx)
		if err == nil || try == 3 || s.opts.Backend != BackendDev ||
			!strings.Contains(s.logSince("temporal", offset), "address already in use") {
			return err
		}
		_ = s.kill(&s.temporal, syscall.SIGKILL)
		ports, perr := freePorts(2)
		if perr != nil {
			return errors.Join(err, perr)
		}
		s.TemporalAddress = fmt.Sprintf("127.0.0.1:%d", ports[0])
		s.UIAddress = fmt.Sprintf("127.0.0.1:%d", ports[1])
	}
}

// Backend is the stack's Temporal server kind.
func (s *Stack) Backend() Backend { return s.opts.Backend }

// Workers is how many workers the stack runs.
func (s *Stack) Workers() int { return len(s.workers) }

// clusterScript is deploy/temporal/cluster.sh, which sets up and runs the cluster's processes.
func clusterScript() string { return filepath.Join(ModuleRoot(), "deploy", "temporal", "cluster.sh") }

func (s *Stack) clusterDir() string { return filepath.Join(s.opts.Dir, "cluster") }

func (s *Stack) clusterCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(clusterScript(), args...)
	cmd.Env = append(os.Environ(), s.clusterEnv...)
	return cmd
}

// runCluster runs one setup step of cluster.sh to its end.
func (s *Stack) runCluster(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, clusterScript(), args...)
	cmd.Env = append(os.Environ(), s.clusterEnv...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cluster.sh %s: %w\n%s", args[0], err, b)
	}
	return nil
}

// startPostgres initialises the database directory (once) and starts PostgreSQL on it, with the Temporal schemas.
func (s *Stack) startPostgres(ctx context.Context) error {
	if err := searchable(s.opts.Dir); err != nil {
		return err
	}
	if err := s.runCluster(ctx, "init", s.clusterDir()); err != nil {
		return err
	}
	cmd := s.clusterCmd("postgres", s.clusterDir(), strconv.Itoa(s.pgPort))
	if err := s.start("postgres", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.postgres = cmd
	s.mu.Unlock()
	return s.runCluster(ctx, "schema", s.clusterDir(), strconv.Itoa(s.pgPort))
}

// setUpCluster creates the default namespace and the search attributes, and starts the web UI.
func (s *Stack) setUpCluster(ctx context.Context) error {
	if err := s.runCluster(ctx, "namespace"); err != nil {
		return err
	}
	cmd := s.clusterCmd("ui")
	if err := s.start("ui", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.ui = cmd
	s.mu.Unlock()
	return waitFor(ctx, 30*time.Second, "Temporal web UI", func(ctx context.Context) error {
		return httpOK(ctx, "http://"+s.UIAddress+"/api/v1/namespaces/default")
	})
}

// searchable lets PostgreSQL, which runs as user postgres when the tests run as root, reach dir: as root, the
// test's own temporary directories (mode 0700) become searchable, not listable, by others.
func searchable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); d != tmp && strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("let PostgreSQL reach %s: %w", d, err)
			}
		}
	}
	return nil
}

func (s *Stack) logFile(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(s.opts.Dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// logSize is how many bytes the named process's log has, where what a new start of it logs begins.
func (s *Stack) logSize(name string) int64 {
	fi, err := os.Stat(filepath.Join(s.opts.Dir, name+".log"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns what the named process has logged from byte offset on.
func (s *Stack) logSince(name string, offset int64) string {
	log := s.Log(name)
	if offset > int64(len(log)) {
		return ""
	}
	return log[offset:]
}

// Log returns what the named process ("temporal", "localaws", "worker", "worker2", …; for the cluster also
// "postgres" and "ui") has logged so far.
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

// DevServerDynamicConfig are the dynamic config values (KEY=VALUE) the dev server runs with: eager activity
// execution — a job step's activity task comes back with the completion of the workflow task that scheduled
// it, not through the matching service, which saves the server work on every run (BENCHMARKS.md). The
// cluster's deploy/temporal/dynamicconfig.yaml sets the same; scripts/stack.sh and docker-compose.yml pass the
// same flags, and internal/deploycheck holds them all to this list.
var DevServerDynamicConfig = []string{"system.enableActivityEagerExecution=true"}

// StartTemporal starts the Temporal server: the dev server on the stack's database file, with the mdlc search
// attributes, or the cluster's server on its PostgreSQL.
func (s *Stack) StartTemporal(ctx context.Context) error {
	_, uiPort, _ := net.SplitHostPort(s.UIAddress)
	_, port, _ := net.SplitHostPort(s.TemporalAddress)
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--ui-port", uiPort,
		"--db-filename", filepath.Join(s.opts.Dir, "temporal.db"), "--log-level", "warn"}
	for _, v := range DevServerDynamicConfig {
		args = append(args, "--dynamic-config-value", v)
	}
	for _, attr := range workflows.SearchAttributes() {
		args = append(args, "--search-attribute", attr.Name+"="+attr.Type)
	}
	cmd := exec.Command(s.opts.Temporal, args...)
	if s.opts.Backend == BackendCluster {
		cmd = s.clusterCmd("server", s.clusterDir(), strconv.Itoa(s.pgPort))
	}
	if err := s.start("temporal", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.temporal = cmd
	s.mu.Unlock()
	return s.withLog("temporal", waitFor(ctx, 90*time.Second, "Temporal server", func(ctx context.Context) error {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			return errExited
		}
		c, err := temporalconn.Dial(ctx, temporalconn.Options{Address: s.TemporalAddress, ConnectTimeout: 2 * time.Second})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}))
}

// withLog adds the end of the named process's log to err, if any.
func (s *Stack) withLog(name string, err error) error {
	if err == nil {
		return nil
	}
	// The server logs a fatal error as one JSON line whose stack trace would fill the excerpt: leave it out.
	log := stackTraceField.ReplaceAllString(s.Log(name), "")
	if len(log) > 2000 {
		log = "…" + log[len(log)-2000:]
	}
	return fmt.Errorf("%w\n--- %s log (%s):\n%s", err, name, filepath.Join(s.opts.Dir, name+".log"), log)
}

// stackTraceField matches the stacktrace field of a JSON log line.
var stackTraceField = regexp.MustCompile(`,"stacktrace":"(?:[^"\\]|\\.)*"`)

// LocalAWSListening matches the line localaws prints once it listens; its group is the address.
var LocalAWSListening = regexp.MustCompile(`localaws listening on http://(\S+)`)

// workerStarted matches the worker's JSON "Worker started" line; its group is the metrics address.
var workerStarted = regexp.MustCompile(`"msg":"Worker started".*"Metrics":"([^"]+)"`)

// StartLocalAWS starts localaws on the stack's data directory. The first start lets localaws pick a free port
// and reads it from its log (a port chosen here could be taken by another process before localaws binds it);
// a restart listens on the same address again, as the clients that hold the endpoint expect.
func (s *Stack) StartLocalAWS(ctx context.Context) error {
	addr := "127.0.0.1:0"
	if s.LocalAWS != "" {
		addr = strings.TrimPrefix(s.LocalAWS, "http://")
	}
	args := append([]string{"--addr", addr, "--data-dir", filepath.Join(s.opts.Dir, "localaws")}, s.opts.LocalAWSArgs...)
	cmd := exec.Command(s.bins["localaws"], args...)
	offset := s.logSize("localaws")
	if err := s.start("localaws", cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.localaws = cmd
	s.mu.Unlock()
	listening, err := WaitForLine(ctx, filepath.Join(s.opts.Dir, "localaws.log"), offset, cmd.Process.Pid, LocalAWSListening)
	if err != nil {
		return s.withLog("localaws", fmt.Errorf("localaws: %w", err))
	}
	s.LocalAWS = "http://" + listening
	return s.withLog("localaws", waitFor(ctx, 30*time.Second, "localaws", func(ctx context.Context) error {
		return httpOK(ctx, s.LocalAWS+"/_localaws/health")
	}))
}

// WaitForLine waits until the log at path has, from byte offset on, a line that re matches, and returns the
// match's first group. It fails at once when process pid has exited, and otherwise waits as long as ctx
// allows: a process that is starting on a busy machine is slow, not stuck.
func WaitForLine(ctx context.Context, path string, offset int64, pid int, re *regexp.Regexp) (string, error) {
	for {
		if b, err := os.ReadFile(path); err == nil && int64(len(b)) > offset {
			if m := re.FindSubmatch(b[offset:]); m != nil {
				return string(m[1]), nil
			}
		}
		if !alive(pid) {
			return "", fmt.Errorf("waiting for a line matching %q in %s: %w", re, path, errExited)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for a line matching %q in %s: %w", re, path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive says whether process pid is running: not gone, and not a zombie waiting to be reaped.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	st := string(b)
	if i := strings.LastIndexByte(st, ')'); i >= 0 {
		if f := strings.Fields(st[i+1:]); len(f) > 0 && f[0] == "Z" {
			return false
		}
	}
	return true
}

// WorkerName is the name of worker i's log ("worker", "worker2", …).
func WorkerName(i int) string {
	if i == 0 {
		return "worker"
	}
	return fmt.Sprintf("worker%d", i+1)
}

// SetWorkerArgs replaces the extra worker flags (Options.WorkerArgs) that the next StartWorker or StartWorkerAt
// passes: a test can restart a worker with another configuration.
func (s *Stack) SetWorkerArgs(args ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.WorkerArgs = slices.Clone(args)
}

// StartWorker starts the first worker against the stack.
func (s *Stack) StartWorker(ctx context.Context) error { return s.StartWorkerAt(ctx, 0) }

// StartWorkerAt starts worker i (0 ≤ i < Workers()) against the stack.
func (s *Stack) StartWorkerAt(ctx context.Context, i int) error {
	if i < 0 || i >= len(s.workers) {
		return fmt.Errorf("no worker %d: the stack has %d", i, len(s.workers))
	}
	// The worker picks its metrics port itself and reports it in its "Worker started" line, which it logs
	// once it polls the task queue.
	s.mu.Lock()
	extra := slices.Clone(s.opts.WorkerArgs)
	s.mu.Unlock()
	args := append([]string{
		"--temporal-address", s.TemporalAddress, "--endpoint-url", s.LocalAWS,
		"--metrics-addr", "127.0.0.1:0", "--log-format", "json",
	}, extra...)
	cmd := exec.Command(s.bins["worker"], args...)
	cmd.Env = append(os.Environ(), s.opts.WorkerEnv...)
	name := WorkerName(i)
	offset := s.logSize(name)
	if err := s.start(name, cmd); err != nil {
		return err
	}
	s.mu.Lock()
	s.workers[i] = cmd
	s.mu.Unlock()
	metrics, err := WaitForLine(ctx, filepath.Join(s.opts.Dir, name+".log"), offset, cmd.Process.Pid, workerStarted)
	if err != nil {
		return s.withLog(name, fmt.Errorf("%s: %w", name, err))
	}
	s.mu.Lock()
	s.MetricsAddresses[i] = metrics
	s.mu.Unlock()
	return s.withLog(name, waitFor(ctx, 30*time.Second, name, func(ctx context.Context) error {
		return httpOK(ctx, "http://"+metrics+"/metrics")
	}))
}

// PIDs returns the process ID of each running process of the stack by name: "temporal", "localaws", "worker",
// "worker2", …, and for the cluster "postgres" and "ui". Each is the leader of its own process group (PostgreSQL's
// backends, the xgboost children of localaws are in their parent's group).
func (s *Stack) PIDs() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	add := func(name string, cmd *exec.Cmd) {
		if cmd != nil && cmd.Process != nil && syscall.Kill(cmd.Process.Pid, 0) == nil {
			out[name] = cmd.Process.Pid
		}
	}
	add("temporal", s.temporal)
	add("localaws", s.localaws)
	add("postgres", s.postgres)
	add("ui", s.ui)
	for i, w := range s.workers {
		add(WorkerName(i), w)
	}
	return out
}

// WorkerLogs returns what every worker has logged so far, one after the other.
func (s *Stack) WorkerLogs() string {
	var b strings.Builder
	for i := range s.workers {
		b.WriteString(s.Log(WorkerName(i)))
	}
	return b.String()
}

// KillWorker kills the first worker with SIGKILL, as a crash would, and waits until it is gone.
func (s *Stack) KillWorker() error { return s.KillWorkerAt(0) }

// KillWorkerAt kills worker i with SIGKILL and waits until it is gone.
func (s *Stack) KillWorkerAt(i int) error {
	if i < 0 || i >= len(s.workers) {
		return fmt.Errorf("no worker %d: the stack has %d", i, len(s.workers))
	}
	return s.kill(&s.workers[i], syscall.SIGKILL)
}

// KillTemporal kills the Temporal server (the dev server, or the cluster's server process) with SIGKILL.
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
	var procs []**exec.Cmd
	for i := range s.workers {
		procs = append(procs, &s.workers[i])
	}
	for _, p := range append(procs, &s.localaws, &s.ui, &s.temporal, &s.postgres) {
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

// freePorts finds n free loopback ports in [20000, 32768): below the kernel's ephemeral range (32768–60999 by
// default), so that no outgoing connection is given one as its local port between this check and the
// server's bind (under load, with many connections to PostgreSQL and gRPC, that can happen), and drawn at
// random so that concurrent stacks rarely collide. A port taken anyway makes the server exit, which Start
// reports (and, for the dev server, retries on other ports).
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("find a free port below 32768: none after 1000 tries")
		}
		port := 20000 + rand.IntN(32768-20000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		lns = append(lns, l)
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

// errExited says that the process being waited for has exited.
var errExited = errors.New("the process exited")

func waitFor(ctx context.Context, limit time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		} else if errors.Is(last, errExited) {
			return fmt.Errorf("%s: %w", what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", what, limit, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
