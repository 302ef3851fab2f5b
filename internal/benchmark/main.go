// Command benchmark measures the mdlc pipelines against the local stack (Temporal dev server, localaws and
// one worker, as separate processes) and writes the results as a markdown report:
//
//	go run ./internal/benchmark -out BENCHMARKS.md
//
// It measures orchestration overhead per run (wall time minus the SageMaker job's own time), how long the
// pipeline takes to notice that a job ended, throughput of N concurrent batch-inference runs on one worker,
// SageMaker Describe calls per job in the local (1 s) and AWS (30 s) polling modes, and history events per
// run. The datasets are small on purpose, so that orchestration rather than XGBoost is what is measured.
// It needs the Temporal CLI (MDLC_TEMPORAL_BIN or PATH) and xgboost, like the integration tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mdlc/mdlc/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	args       []string
	out        string
	dir        string
	sequential int
	models     int
	sizes      []int
	pollRuns   int
	deadline   time.Duration
	skipPoll   bool
	// workerFlags are extra flags for the main stack's worker (the concurrent runs' worker).
	workerFlags []string
	// backend is the main stack's Temporal server, workers how many workers it runs.
	backend stack.Backend
	workers int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("benchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := "100,300"
	fs.StringVar(&c.out, "out", "", "write the markdown report to this file (stdout when empty)")
	fs.StringVar(&c.dir, "dir", "", "directory for the stacks' state and logs (a temporary directory when empty; kept either way)")
	fs.IntVar(&c.sequential, "sequential", 5, "runs of each kind measured one at a time for overhead and detection delay")
	fs.IntVar(&c.models, "models", 10, "models the concurrent batch-inference runs spread over")
	fs.StringVar(&sizes, "concurrent", sizes, "comma-separated numbers of concurrent batch-inference runs")
	fs.IntVar(&c.pollRuns, "poll-runs", 2, "concurrent training runs per polling mode in the Describe-call comparison")
	fs.Func("worker-flag", "extra `FLAG` for the worker of the sequential and concurrent runs, e.g. -worker-flag=--max-concurrent-activities=1000 (repeatable)", func(v string) error {
		c.workerFlags = append(c.workerFlags, v)
		return nil
	})
	backend := ""
	fs.StringVar(&backend, "backend", "dev", "Temporal server of the sequential and concurrent runs: dev (the CLI's dev server) or cluster (Temporal server on PostgreSQL; needs MDLC_TEMPORAL_SERVER_BIN etc., see internal/stack)")
	fs.IntVar(&c.workers, "workers", 1, "workers of the sequential and concurrent runs, on one task queue")
	fs.BoolVar(&c.skipPoll, "skip-poll-comparison", false, "skip the 30 s polling-mode stack")
	fs.DurationVar(&c.deadline, "deadline", 25*time.Minute, "how long one concurrent batch may take before its unfinished runs count as errors")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// The command line for the report, without the state directory (a property of this machine).
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-dir" || a == "--dir":
			i++
		case strings.HasPrefix(a, "-dir=") || strings.HasPrefix(a, "--dir="):
		default:
			c.args = append(c.args, a)
		}
	}
	var errs []error
	var err error
	if c.backend, err = stack.ParseBackend(backend); err != nil {
		errs = append(errs, fmt.Errorf("-backend: %w", err))
	}
	if c.workers < 1 {
		errs = append(errs, errors.New("-workers must be at least 1"))
	}
	for _, s := range strings.Split(sizes, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("-concurrent: %q is not a positive number", s))
			continue
		}
		c.sizes = append(c.sizes, n)
	}
	if c.sequential < 1 || c.models < 1 || c.pollRuns < 1 {
		errs = append(errs, errors.New("-sequential, -models and -poll-runs must be at least 1"))
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "mdlc-benchmark-")
		if err != nil {
			errs = append(errs, fmt.Errorf("create a state directory: %w", err))
		}
		c.dir = d
	}
	return c, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, time.Now().Format("15:04:05 ")+format+"\n", a...) }
	logf("state and logs under %s", cfg.dir)
	r := &report{started: time.Now(), loadBefore: loadAverage(), cfg: cfg}
	if err := measure(ctx, cfg, r, logf); err != nil {
		r.notes = append(r.notes, "The run stopped early: "+err.Error())
		logf("error: %v", err)
	}
	r.loadAfter = loadAverage()
	r.finished = time.Now()
	var w io.Writer = stdout
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return fmt.Errorf("create %s: %w", cfg.out, err)
		}
		defer f.Close()
		w = f
	}
	if err := r.write(w); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if cfg.out != "" {
		logf("wrote %s", cfg.out)
	}
	return nil
}

// loadAverage returns the 1, 5 and 15 minute load averages, as uptime prints them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// cpuModel names the machine's CPU, for the report.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

// stackDir is the state directory of one of the benchmark's stacks.
func stackDir(cfg config, name string) string { return filepath.Join(cfg.dir, name) }
