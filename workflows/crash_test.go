package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/workflows"
)

// bigData is a dataset large enough that training takes several seconds, so a test can act while it runs.
func bigData() demodata.Config {
	cfg := demodata.DefaultConfig()
	cfg.Dates = []string{"2019-12-01"}
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = 400_000, 20_000, 1_000
	return cfg
}

// waitForRunningJob waits until the training job whose name starts with prefix is InProgress in SageMaker.
func waitForRunningJob(t *testing.T, ctx context.Context, sm *sagemaker.Client, prefix string) string {
	t.Helper()
	for {
		out, err := sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{NameContains: aws.String(prefix)})
		require.NoError(t, err)
		for _, j := range out.TrainingJobSummaries {
			if strings.HasPrefix(aws.ToString(j.TrainingJobName), prefix) && j.TrainingJobStatus == smtypes.TrainingJobStatusInProgress {
				return aws.ToString(j.TrainingJobName)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no running training job %s*: %v", prefix, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func countJobs(t *testing.T, ctx context.Context, sm *sagemaker.Client, prefix string) []smtypes.TrainingJobSummary {
	t.Helper()
	out, err := sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{NameContains: aws.String(prefix)})
	require.NoError(t, err)
	return out.TrainingJobSummaries
}

// TestWorkerCrashAndCancel kills the worker with SIGKILL while a training job runs (the workflow still
// completes, with exactly one training job), then cancels a run during training (the job ends Stopped and the
// run ends canceled).
func TestWorkerCrashAndCancel(t *testing.T) {
	s, c, sm := startStack(t, bigData())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("kill -9 the worker during training", func(t *testing.T) {
		const model = "crash"
		run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, "2019-12-01"), model, "2019-12-01"),
			workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: "2019-12-01"})
		require.NoError(t, err)
		job := waitForRunningJob(t, ctx, sm, model+"-")
		require.NoError(t, s.KillWorker())
		time.Sleep(time.Second)
		require.NoError(t, s.StartWorker(ctx))

		var res workflows.TrainingResult
		require.NoError(t, run.Get(ctx, &res))
		require.Equal(t, job, res.TrainingJobName, "the restarted worker attached to the job it had created")
		jobs := countJobs(t, ctx, sm, model+"-")
		require.Len(t, jobs, 1, "exactly one training job for the run")
		require.Equal(t, smtypes.TrainingJobStatusCompleted, jobs[0].TrainingJobStatus)
		require.Contains(t, s.Log("worker"), "Attached to existing job")
	})

	t.Run("cancel during training stops the job", func(t *testing.T) {
		const model = "cancelled"
		run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, "2019-12-01"), model, "2019-12-01"),
			workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: "2019-12-01"})
		require.NoError(t, err)
		job := waitForRunningJob(t, ctx, sm, model+"-")
		require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
		err = run.Get(ctx, nil)
		var canceled *temporal.CanceledError
		require.ErrorAs(t, err, &canceled)
		out, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(job)})
		require.NoError(t, err)
		require.Equal(t, smtypes.TrainingJobStatusStopped, out.TrainingJobStatus, "the cancelled run stopped its job before ending")
	})
}
