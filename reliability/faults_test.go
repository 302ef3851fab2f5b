package reliability_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestThrottlingAndServerErrors has localaws answer 20% of all SageMaker, Lambda and S3 requests with the
// service's throttling error and 10% with an internal error, while runs of both workflows go through: every
// run completes and owns exactly one job of each kind it needs (a create retried after an error must not
// create a second job).
func TestThrottlingAndServerErrors(t *testing.T) {
	h := start(t, harness.SmallData(), "--hyperparameters", "num_round=50")
	rng := seeded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	require.NoError(t, h.SetFaults(ctx, 0.2, 0.1, rng.Uint64()|1))

	const n = 4
	var training []client.WorkflowRun
	for i := range n {
		r, err := h.Train(ctx, fmt.Sprintf("ft%d", i), fmt.Sprintf("ft%d", i), "2019-10-01")
		require.NoError(t, err)
		training = append(training, r)
	}
	for _, o := range waitAll(ctx, training) {
		require.NoError(t, o.err, "training run %s under faults", o.id)
	}
	var inference []client.WorkflowRun
	for i := range n {
		r, err := h.Infer(ctx, fmt.Sprintf("fi%d", i), fmt.Sprintf("ft%d", i), "2019-11-01", float64(i%2)) // 1.0 retrains
		require.NoError(t, err)
		inference = append(inference, r)
	}
	for _, o := range waitAll(ctx, inference) {
		require.NoError(t, o.err, "batch-inference run %s under faults", o.id)
	}

	injected, err := h.FaultCounts(ctx)
	require.NoError(t, err)
	t.Logf("faults injected: %v", injected)
	for _, svc := range []string{"sagemaker", "lambda", "s3"} {
		require.Positive(t, injected[svc]["Throttle"]+injected[svc]["ServerError"], "faults injected into %s", svc)
	}
	require.NoError(t, h.ClearFaults(ctx))

	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	byRun := harness.JobsByWorkflow(jobs)
	for i := range n {
		for _, id := range []string{fmt.Sprintf("ft%d", i), fmt.Sprintf("fi%d", i)} {
			require.Len(t, byRun[id], 1, "jobs of %s", id)
			require.Equal(t, "Completed", byRun[id][0].Status)
		}
		if i%2 == 1 {
			requireRetrainJobs(t, byRun[workflows.RetrainWorkflowID(fmt.Sprintf("ft%d", i))])
		}
	}
	require.Len(t, jobs, 2*n+2*(n/2), "no duplicate jobs")
}
