package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/closewatch"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/internal/webui"
	"github.com/mdlc/mdlc/workflows"
)

// notifyReceiver is a notification receiver on 127.0.0.1 that answers by workflow ID: IDs containing
// "flaky" get 500 twice, then 200; IDs containing "broken" always get 500; any other 200.
type notifyReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	attempts map[string][]receivedNotification // by workflow ID
	changed  chan struct{}
}

type receivedNotification struct {
	n              activities.Notification
	idempotencyKey string
	answered       int
}

func newNotifyReceiver(t *testing.T) *notifyReceiver {
	r := &notifyReceiver{attempts: map[string][]receivedNotification{}, changed: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var n activities.Notification
		if err != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &n) != nil {
			t.Errorf("receiver: bad request %s %s %q: %s", req.Method, req.Header.Get("Content-Type"), body, err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		seen := len(r.attempts[n.WorkflowID])
		status := http.StatusOK
		switch {
		case strings.Contains(n.WorkflowID, "flaky") && seen < 2, strings.Contains(n.WorkflowID, "broken"):
			status = http.StatusInternalServerError
		}
		r.attempts[n.WorkflowID] = append(r.attempts[n.WorkflowID], receivedNotification{n: n, idempotencyKey: req.Header.Get("Idempotency-Key"), answered: status})
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// waitFor waits until the receiver has answered n attempts for the workflow ID and returns them.
func (r *notifyReceiver) waitFor(t *testing.T, ctx context.Context, id string, n int) []receivedNotification {
	t.Helper()
	for {
		r.mu.Lock()
		got := append([]receivedNotification(nil), r.attempts[id]...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("receiver got %d of %d notifications for %s: %v", len(got), n, id, ctx.Err())
		case <-r.changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestNotificationsEndToEnd runs the real stack with --notify-url pointing at a local receiver: a completed
// training run, a failed batch-inference run (the model has no version), a training run canceled by a person
// during Train Model, a batch-inference run whose receiver fails twice before it accepts (retried with the
// same idempotency key), and a training run whose receiver never accepts (the run still completes). One
// stack for all.
func TestNotificationsEndToEnd(t *testing.T) {
	recv := newNotifyReceiver(t)
	const uiBase = "https://temporal.example.test"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, err := harness.Start(ctx, harness.Options{
		Dir: t.TempDir(), Data: harness.SmallData(),
		WorkerArgs: []string{"--notify-url", recv.URL + "/hooks/mdlc", "--ui-address", uiBase, "--notify-watch-interval", "1s"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- worker log (tail)\n%s", tail(h.Log("worker"), 6000))
		}
		h.Close()
	})
	c := h.Temporal
	require.Contains(t, h.Log("worker"), `"Notify":"`+recv.URL+`"`, "the worker logs the receiver's scheme and host")
	require.NotContains(t, h.Log("worker"), "/hooks/mdlc", "but not its path, where webhook secrets live")

	// Canceled by a person during Train Model: SageMaker is throttled, so the run cannot get past the step
	// before the cancellation reaches it.
	t.Run("canceled", func(t *testing.T) {
		require.NoError(t, h.SetFaults(ctx, 1, 0, 1, "sagemaker"))
		id := "notify-canceled"
		run, err := c.ExecuteWorkflow(ctx, startOptions(id, "canceled", "2019-10-01"), workflows.TrainingWorkflow,
			workflows.TrainingInput{ModelName: "canceled", DataDate: "2019-10-01"})
		require.NoError(t, err)
		waitForStep(t, ctx, h, id, workflows.StepTrainModel, workflows.StepRunning)
		require.NoError(t, c.CancelWorkflow(ctx, id, run.GetRunID()))
		// SageMaker stays throttled until the run has ended: a job created in between would finish before the
		// cancellation reaches its activity, and the run would be canceled at a later step.
		var canceled *temporal.CanceledError
		require.ErrorAs(t, run.Get(ctx, nil), &canceled)
		require.NoError(t, h.ClearFaults(ctx))

		got := recv.waitFor(t, ctx, id, 1)
		require.Len(t, got, 1)
		n := got[0].n
		require.Equal(t, activities.StatusCanceled, n.Status)
		require.Equal(t, workflows.StepTrainModel, n.FailedStep)
		require.Equal(t, workflows.TrainingWorkflow, n.WorkflowType)
		require.Equal(t, run.GetRunID(), n.RunID)
		require.Equal(t, webui.RunURL(uiBase, "default", id, run.GetRunID()), n.URL)
		recordHistory(t, c, "training-canceled-notify", id, run.GetRunID())
	})

	// Terminated by a person, and timed out: the runs run no more workflow code, and the worker's watch
	// (package closewatch) notifies of them, once each however often it finds them.
	t.Run("terminated", func(t *testing.T) {
		require.NoError(t, h.SetFaults(ctx, 1, 0, 1, "sagemaker"))
		id := "notify-terminated"
		run, err := c.ExecuteWorkflow(ctx, startOptions(id, "terminated", "2019-10-01"), workflows.TrainingWorkflow,
			workflows.TrainingInput{ModelName: "terminated", DataDate: "2019-10-01"})
		require.NoError(t, err)
		waitForStep(t, ctx, h, id, workflows.StepTrainModel, workflows.StepRunning)
		require.NoError(t, c.TerminateWorkflow(ctx, id, run.GetRunID(), "the training data of 2019-10-01 is bad"))
		var terminated *temporal.TerminatedError
		require.ErrorAs(t, run.Get(ctx, nil), &terminated)
		require.NoError(t, h.ClearFaults(ctx))

		got := recv.waitFor(t, ctx, id, 1)
		n := got[0].n
		require.Equal(t, activities.StatusTerminated, n.Status)
		require.Equal(t, run.GetRunID(), n.RunID)
		require.Equal(t, "terminated", n.ModelName)
		require.Equal(t, "2019-10-01", n.DataDate)
		require.Equal(t, workflows.StepTrainModel, n.FailedStep, "the step it was in, from its progress")
		require.Contains(t, n.Failure, "the training data of 2019-10-01 is bad")
		require.Equal(t, webui.RunURL(uiBase, "default", id, run.GetRunID()), n.URL)

		again, err := closewatch.Scan(ctx, c, closewatch.Options{Namespace: "default", TaskQueue: workflows.TaskQueue}, n.StartTime)
		require.NoError(t, err)
		require.Zero(t, again, "a run already notified of is not notified again")
		require.Len(t, recv.waitFor(t, ctx, id, 1), 1)
	})

	t.Run("timed out", func(t *testing.T) {
		// On a task queue no worker polls, the run runs no code at all before its timeout.
		id := "notify-timed-out"
		opts := startOptions(id, "late", "2019-10-01")
		opts.TaskQueue, opts.WorkflowExecutionTimeout = "no-worker-polls-this", 2*time.Second
		run, err := c.ExecuteWorkflow(ctx, opts, workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "late", DataDate: "2019-10-01"})
		require.NoError(t, err)
		var timedOut *temporal.TimeoutError
		require.ErrorAs(t, run.Get(ctx, nil), &timedOut)

		got := recv.waitFor(t, ctx, id, 1)
		require.Len(t, got, 1)
		n := got[0].n
		require.Equal(t, activities.StatusTimedOut, n.Status)
		require.Equal(t, "late", n.ModelName)
		require.Contains(t, n.Failure, "timeout")
		require.Empty(t, n.FailedStep, "no step ran")
	})

	var wg sync.WaitGroup
	results := map[string]error{}
	var mu sync.Mutex
	start := func(id, wf string, in any) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			model, date := "", ""
			switch in := in.(type) {
			case workflows.TrainingInput:
				model, date = in.ModelName, in.DataDate
			case workflows.BatchInferenceInput:
				model, date = in.ModelName, in.DataDate
			}
			run, err := c.ExecuteWorkflow(ctx, startOptions(id, model, date), wf, in)
			if err == nil {
				err = run.Get(ctx, nil)
			}
			mu.Lock()
			results[id] = err
			mu.Unlock()
		}()
	}
	start("notify-completed", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-10-01"})
	start("notify-broken", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "spare", DataDate: "2019-10-01"})
	start("notify-failed", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "never-trained", DataDate: "2019-11-01"})
	wg.Wait()

	t.Run("completed", func(t *testing.T) {
		require.NoError(t, results["notify-completed"])
		got := recv.waitFor(t, ctx, "notify-completed", 1)
		require.Len(t, got, 1)
		n := got[0].n
		require.Equal(t, activities.StatusCompleted, n.Status)
		require.Equal(t, activities.NotificationVersion, n.Version)
		require.Equal(t, "churn", n.ModelName)
		require.Equal(t, "2019-10-01", n.DataDate)
		require.Equal(t, int32(1), n.ModelPackageVersion)
		require.Contains(t, n.ModelPackageArn, "model-package/churn/1")
		require.Regexp(t, `^churn-`, n.TrainingJobName)
		require.Empty(t, n.Failure)
	})

	t.Run("failed", func(t *testing.T) {
		var app *temporal.ApplicationError
		require.ErrorAs(t, results["notify-failed"], &app)
		require.Equal(t, activities.ErrModelNotFound, app.Type())
		got := recv.waitFor(t, ctx, "notify-failed", 1)
		require.Len(t, got, 1)
		n := got[0].n
		require.Equal(t, activities.StatusFailed, n.Status)
		require.Equal(t, workflows.BatchInferenceWorkflow, n.WorkflowType)
		require.Equal(t, workflows.StepFindModel, n.FailedStep)
		require.Contains(t, n.Failure, "Find Model: ")
		require.Contains(t, n.Failure, "never-trained")
		require.Empty(t, n.Decision)
	})

	t.Run("receiver never accepts: the run still completes", func(t *testing.T) {
		require.NoError(t, results["notify-broken"], "a notification that cannot be delivered does not fail the run")
		got := recv.waitFor(t, ctx, "notify-broken", 5)
		require.Len(t, got, 5, "five attempts, then given up")
		require.Contains(t, h.Log("worker"), "Notification not delivered; the run's result is unchanged")
	})

	t.Run("receiver fails twice, then accepts", func(t *testing.T) {
		id := "notify-flaky"
		keep := 0.0 // every AUC is at least 0: keep
		run, err := c.ExecuteWorkflow(ctx, startOptions(id, "churn", "2019-11-01"), workflows.BatchInferenceWorkflow,
			workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2019-11-01", Threshold: &keep})
		require.NoError(t, err)
		var res workflows.BatchInferenceResult
		require.NoError(t, run.Get(ctx, &res))
		got := recv.waitFor(t, ctx, id, 3)
		require.Len(t, got, 3)
		for i, want := range []int{500, 500, 200} {
			require.Equal(t, want, got[i].answered)
			require.Equal(t, id+"/"+run.GetRunID(), got[i].idempotencyKey, "attempt %d", i+1)
		}
		n := got[2].n
		require.Equal(t, got[0].n, n, "every attempt sends the same notification")
		require.Equal(t, activities.StatusCompleted, n.Status)
		require.Equal(t, workflows.DecisionKeep, n.Decision)
		require.NotNil(t, n.AUC)
		require.Equal(t, res.AUC, *n.AUC)
		require.Equal(t, 0.0, *n.Threshold)
		require.Equal(t, res.ModelPackageArn, n.ModelPackageArn)
		recordHistory(t, c, "batch-inference-notify", id, run.GetRunID())
	})

	// Each run sent exactly what the tests above counted: nothing for runs that did not end, no duplicates.
	recv.mu.Lock()
	defer recv.mu.Unlock()
	require.Len(t, recv.attempts, 7, fmt.Sprint(recv.attempts))
}

// waitForStep waits until the run's progress query shows the step in state.
func waitForStep(t *testing.T, ctx context.Context, h *harness.Harness, id, step, state string) {
	t.Helper()
	for {
		v, err := h.Temporal.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
		if err == nil {
			var p workflows.Progress
			require.NoError(t, v.Get(&p))
			for _, s := range p.Steps {
				if s.Name == step && s.State == state {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s never showed %s %s: %v", id, step, state, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
