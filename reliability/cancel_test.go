package reliability_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestCancelDuringEachWaitingStep cancels runs while they wait on each kind of SageMaker job — a training
// job, a batch-transform job, and the training job of a retrain child (cancelled through its parent) — and
// checks that every such job ends Stopped and every run ends canceled.
//
// Cancellation reaches a waiting activity only with a heartbeat, which the SDK may hold back for up to 80% of
// the heartbeat timeout, so each job must still be InProgress well after the cancel request: the training
// jobs train on 300,000 rows (minutes here), and the transform job waits for one of localaws's job slots (as many as CPUs),
// which two such training jobs hold.
func TestCancelDuringEachWaitingStep(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	uploadDate(t, ctx, h, "2019-12-01", 300_000)
	base, err := h.Train(ctx, "cbase", "cbase", "2019-10-01")
	require.NoError(t, err)
	require.NoError(t, base.Get(ctx, nil))

	canceled := func(t *testing.T, runs ...client.WorkflowRun) {
		t.Helper()
		for _, run := range runs {
			require.NoError(t, h.Temporal.CancelWorkflow(ctx, run.GetID(), ""))
		}
		for _, run := range runs {
			err := run.Get(ctx, nil)
			var ce *temporal.CanceledError
			require.ErrorAs(t, err, &ce, "run %s ends canceled", run.GetID())
		}
	}

	t.Run("retrain child's training", func(t *testing.T) {
		run, err := h.Infer(ctx, "cretrain", "cbase", "2019-12-01", 1.0)
		require.NoError(t, err)
		child := workflows.RetrainWorkflowID("cbase")
		name := waitForJob(t, ctx, h, child, "training", "InProgress")
		canceled(t, run)
		require.Equal(t, name, waitForJob(t, ctx, h, child, "training", "Stopped"), "the child's job was stopped")
		d, err := h.Temporal.DescribeWorkflowExecution(ctx, child, "")
		require.NoError(t, err)
		require.Equal(t, "Canceled", d.WorkflowExecutionInfo.Status.String(), "the child was cancelled with its parent")
	})

	// Two training runs hold both job slots; a batch-inference run's transform job queues behind them.
	var blockers []client.WorkflowRun
	for _, id := range []string{"cblock0", "cblock1"} {
		r, err := h.Train(ctx, id, id, "2019-12-01")
		require.NoError(t, err)
		blockers = append(blockers, r)
	}
	for _, r := range blockers {
		waitForJob(t, ctx, h, r.GetID(), "training", "InProgress")
	}

	t.Run("transform", func(t *testing.T) {
		run, err := h.Infer(ctx, "cinfer", "cbase", "2019-10-01", 0)
		require.NoError(t, err)
		waitForJob(t, ctx, h, "cinfer", "transform", "InProgress")
		canceled(t, run)
		jobs, err := h.Jobs(ctx)
		require.NoError(t, err)
		got := harness.JobsByWorkflow(jobs)["cinfer"]
		require.Len(t, got, 1)
		require.Equal(t, "Stopped", got[0].Status, "the run stopped its transform job before ending canceled")
	})

	t.Run("training", func(t *testing.T) {
		canceled(t, blockers...)
		jobs, err := h.Jobs(ctx)
		require.NoError(t, err)
		byRun := harness.JobsByWorkflow(jobs)
		for _, r := range blockers {
			require.Len(t, byRun[r.GetID()], 1)
			require.Equal(t, "Stopped", byRun[r.GetID()][0].Status, "run %s stopped its training job", r.GetID())
		}
	})
}
