package reliability_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestTemporalServerRestart kills the dev server (SIGKILL) twice while runs of both workflows wait on
// SageMaker jobs, and starts it again on the same database file: every run completes, with one job per run.
func TestTemporalServerRestart(t *testing.T) {
	temporalServerRestart(t, stack.BackendDev, 1)
}

// temporalServerRestart is TestTemporalServerRestart on a backend with workers workers: on the cluster, the
// server process is killed and restarted while PostgreSQL keeps the state.
func temporalServerRestart(t *testing.T, backend stack.Backend, workers int) {
	h := startWith(t, harness.Options{Data: harness.SmallData(), Backend: backend, Workers: workers})
	rng := seeded(t)
	ctx, cancel := progressContext(3*time.Minute, 30*time.Minute, runsProgress(h))
	defer cancel()

	// One base model per batch-inference run: two retrains of one model at once would be one retrain and one
	// suppression (one retrain of a model at a time).
	const pairs = 4 // runs ri1 and ri3 retrain
	var bases []client.WorkflowRun
	for i := range pairs {
		base, err := h.Train(ctx, fmt.Sprintf("rbase%d", i), fmt.Sprintf("rbase%d", i), "2019-10-01")
		require.NoError(t, err)
		bases = append(bases, base)
	}
	for _, o := range waitAll(ctx, bases) {
		require.NoError(t, o.err, o.id)
	}

	t0 := time.Now()
	var runs []client.WorkflowRun
	for i := range pairs {
		r, err := h.Train(ctx, fmt.Sprintf("rt%d", i), fmt.Sprintf("rt%d", i), "2019-10-01")
		require.NoError(t, err)
		runs = append(runs, r)
		r, err = h.Infer(ctx, fmt.Sprintf("ri%d", i), fmt.Sprintf("rbase%d", i), "2019-11-01", float64(i%2)) // 1.0 retrains
		require.NoError(t, err)
		runs = append(runs, r)
	}
	for round, op := range []string{"CreateTransformJob", "CreateTrainingJob"} {
		n := 1 + rng.IntN(pairs)
		if op == "CreateTrainingJob" {
			n = pairs + 1 + rng.IntN(pairs/2) // a retrain child's
		}
		created, err := h.WaitForRequest(ctx, op, t0, n)
		require.NoError(t, err)
		time.Sleep(time.Until(created.Add(uniform(rng, 0, 500*time.Millisecond))))
		require.NoError(t, h.KillTemporal())
		down := uniform(rng, time.Second, 5*time.Second)
		t.Logf("restart %d: Temporal server killed after %s #%d, down for %s", round, op, n, down)
		time.Sleep(down)
		require.NoError(t, h.StartTemporal(ctx))
	}
	for _, o := range waitAll(ctx, runs) {
		require.NoError(t, o.err, "run %s must complete across the server restarts", o.id)
	}
	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	byRun := harness.JobsByWorkflow(jobs)
	for i := range pairs {
		require.Len(t, byRun[fmt.Sprintf("rt%d", i)], 1)
		require.Len(t, byRun[fmt.Sprintf("ri%d", i)], 1)
		if i%2 == 1 {
			requireRetrainJobs(t, byRun[workflows.RetrainWorkflowID(fmt.Sprintf("rbase%d", i))])
		}
	}
	require.Len(t, jobs, pairs+2*pairs+2*(pairs/2), "no duplicate jobs")
}

// TestLocalAWSRestartFailsTheJob kills localaws while a training job runs and starts it again on the same
// data directory. A restarted localaws cannot resume the algorithm, so it marks the job Failed with a reason;
// the waiting activity attaches to the job again, sees Failed, and the run fails with JobFailed and that reason.
func TestLocalAWSRestartFailsTheJob(t *testing.T) {
	data := harness.SmallData()
	data.Dates = []string{"2019-12-01"}
	data.TrainRows = 60_000 // long enough to be running when localaws dies
	h := start(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	run, err := h.Train(ctx, "lrestart", "lrestart", "2019-12-01")
	require.NoError(t, err)
	name := waitForTraining(t, ctx, h, "lrestart", smtypes.TrainingJobStatusInProgress)
	require.NoError(t, h.KillLocalAWS())
	time.Sleep(time.Second)
	require.NoError(t, h.StartLocalAWS(ctx))

	err = run.Get(ctx, nil)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, activities.ErrJobFailed, app.Type(), err.Error())
	require.Contains(t, err.Error(), "localaws restarted while the job was running")

	out, err := h.SageMaker.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
	require.NoError(t, err)
	require.Equal(t, smtypes.TrainingJobStatusFailed, out.TrainingJobStatus)
	require.Contains(t, aws.ToString(out.FailureReason), "localaws restarted")
	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1, "the retried step attached to the failed job instead of creating another")
}

// waitForTraining waits until the training job of the run workflowID has status, and returns its name.
func waitForTraining(t *testing.T, ctx context.Context, h *harness.Harness, workflowID string, status smtypes.TrainingJobStatus) string {
	t.Helper()
	return waitForJob(t, ctx, h, workflowID, "training", string(status))
}

// waitForJob waits until the job of kind ("training", "transform") of the run workflowID has status.
func waitForJob(t *testing.T, ctx context.Context, h *harness.Harness, workflowID, kind, status string) string {
	t.Helper()
	for {
		jobs, err := h.Jobs(ctx)
		require.NoError(t, err)
		for _, j := range jobs {
			if j.WorkflowID == workflowID && j.Kind == kind && j.Status == status {
				return j.Name
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s job %s for run %s: %v", kind, status, workflowID, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// uploadDate seeds one more data date with its own size.
func uploadDate(t *testing.T, ctx context.Context, h *harness.Harness, date string, trainRows int) {
	t.Helper()
	cfg := harness.SmallData()
	cfg.Dates, cfg.TrainRows = []string{date}, trainRows
	cfg.Bucket = harness.Bucket
	require.NoError(t, demodata.Upload(ctx, h.S3, cfg, nil))
}
