package reliability_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
)

// start starts a stack (dev server, one worker) for one test, printing the tails of its logs when the test fails.
func start(t *testing.T, data demodata.Config, workerArgs ...string) *harness.Harness {
	t.Helper()
	return startWith(t, harness.Options{Data: data, WorkerArgs: workerArgs})
}

// startWith starts a stack with opts (and a directory of the test's) for one test, printing the tails of its
// logs when the test fails.
func startWith(t *testing.T, opts harness.Options) *harness.Harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts.Dir = t.TempDir()
	h, err := harness.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			names := []string{"localaws", "temporal", "postgres"}
			for i := range h.Workers() {
				names = append(names, stack.WorkerName(i))
			}
			for _, name := range names {
				t.Logf("--- %s log (tail)\n%s", name, tail(h.Log(name), 3000))
			}
		}
	})
	return h
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// seeded returns a random source seeded from $MDLC_RELIABILITY_SEED, or from the clock, and logs the seed so
// that a failing sequence of fault points can be replayed.
func seeded(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MDLC_RELIABILITY_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "MDLC_RELIABILITY_SEED")
	}
	t.Logf("random fault points: MDLC_RELIABILITY_SEED=%d", seed)
	return rand.New(rand.NewPCG(seed, seed>>1))
}

// uniform returns a duration drawn uniformly from [lo, hi).
func uniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// outcome is how one workflow run ended.
type outcome struct {
	id  string
	err error
}

// waitAll waits for every run and returns how each ended, in the order given.
func waitAll(ctx context.Context, runs []client.WorkflowRun) []outcome {
	out := make([]outcome, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			err := r.Get(ctx, nil)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("%w: %w", err, context.Cause(ctx))
			}
			out[i] = outcome{id: r.GetID(), err: err}
		})
	}
	wg.Wait()
	return out
}

// killWorker kills worker i (SIGKILL) wherever its runs are — waiting on a job (an activity that heartbeats:
// retried after the 20 s heartbeat timeout), or in the middle of a Lambda or SageMaker call (a local activity:
// its workflow task, and the call, are retried when the task times out) — restarts it after pause and returns
// what the runs were doing when it died.
func killWorker(t *testing.T, ctx context.Context, h *harness.Harness, ids []string, i int, pause time.Duration) string {
	t.Helper()
	require.NoError(t, h.KillWorkerAt(i))
	steps := h.Steps(ctx, ids)
	time.Sleep(pause)
	require.NoError(t, h.StartWorkerAt(ctx, i))
	return steps
}

// runAWSCLI runs Debian's AWS CLI (what a user would run) against localaws at endpoint with throwaway
// credentials and configuration, and returns what it printed.
func runAWSCLI(ctx context.Context, endpoint string, args ...string) (string, error) {
	home, err := os.MkdirTemp("", "awscli-home-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, "/usr/bin/aws", append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// progressContext returns the context a test waits on its runs with: deadlines follow progress, not the
// wall clock. It ends when progress (e.g. runsProgress) has not changed for stall — a busy machine slows the
// runs down but they still move, a stuck run does not — or after limit whatever happens, so that a test
// never hangs. context.Cause says which.
func progressContext(stall, limit time.Duration, progress func() (int, error)) (context.Context, context.CancelFunc) {
	ctx, cancelTimeout := context.WithTimeoutCause(context.Background(), limit, fmt.Errorf("test still running after %s", limit))
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		last, since := -1, time.Now()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n, err := progress()
			if err == nil && n != last {
				last, since = n, time.Now()
				continue
			}
			if time.Since(since) > stall {
				cancel(fmt.Errorf("no progress for %s (progress count %d)", stall, last))
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil); cancelTimeout() }
}

// runsProgress counts the requests localaws has answered that change something: anything but the Describe
// and List calls that a waiting activity keeps sending while nothing moves.
func runsProgress(h *harness.Harness) func() (int, error) {
	return func() (int, error) { return changingRequests(h) }
}

func changingRequests(h *harness.Harness) (int, error) {
	reqs, err := h.Requests()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range reqs {
		if !strings.HasPrefix(r.Operation, "Describe") && !strings.HasPrefix(r.Operation, "List") {
			n++
		}
	}
	return n, nil
}

func TestProgressContext(t *testing.T) {
	t.Run("ends when nothing moves", func(t *testing.T) {
		ctx, cancel := progressContext(2*time.Second, time.Minute, func() (int, error) { return 7, nil })
		defer cancel()
		<-ctx.Done()
		require.ErrorContains(t, context.Cause(ctx), "no progress for 2s")
	})
	t.Run("lives while things move, up to its limit", func(t *testing.T) {
		var n int
		ctx, cancel := progressContext(2*time.Second, 6*time.Second, func() (int, error) { n++; return n, nil })
		defer cancel()
		<-ctx.Done()
		require.ErrorContains(t, context.Cause(ctx), "still running after 6s")
	})
}

// requireRetrainJobs checks the jobs of one retrain child: one training job (the challenger) and one transform
// job (its evaluation on the holdout data its champion scored), both completed.
func requireRetrainJobs(t *testing.T, jobs []harness.Job) {
	t.Helper()
	kinds := map[string]int{}
	for _, j := range jobs {
		require.Equal(t, "Completed", j.Status, "job %s of the retrain", j.Name)
		kinds[j.Kind]++
	}
	require.Equal(t, map[string]int{"training": 1, "transform": 1}, kinds, "jobs of the retrain: %+v", jobs)
}
