package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/workflows"
)

// TestRetryRedrivesFromTheFailedStep: a batch-inference run fails at Monitor Model Performance because its
// holdout target went missing after Initialize had checked it; once the target is uploaded again, `starter
// retry` completes the run from Monitor with the transform job of the failed run (no new job). Retrying the
// completed run is refused. A second run, retried --from Inference, gets a new transform job. A third, whose
// retrain child was canceled, is retried from Re-train Model with a new run of the child.
func TestRetryRedrivesFromTheFailedStep(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const model = "redrive"
	r := runCLI(ctx, s, "seed", "--dates", "2019-12-01,2019-12-02,2019-12-03")
	require.NoError(t, r.err, r.String())
	r = runCLI(ctx, s, "train", "--model", model, "--data-date", "2019-10-01", "--wait")
	require.NoError(t, r.err, r.String())
	sm := sageMaker(s)
	tc, err := client.Dial(client.Options{HostPort: s.TemporalAddress})
	require.NoError(t, err)
	defer tc.Close()

	t.Run("retry from Monitor reuses the transform job", func(t *testing.T) {
		id := workflows.BatchInferenceWorkflowID(model, "2019-12-01")
		failed, target := failAtMonitor(ctx, t, s, model, "2019-12-01")
		job := stepJob(failed, workflows.StepInference)
		require.NotEmpty(t, job)
		before := transformJobs(ctx, t, sm, model)
		putTarget(ctx, t, s, "2019-12-01", target)

		r := runCLI(ctx, s, "retry", id)
		require.NoError(t, r.err, r.String())
		t.Logf("starter retry:\n%s", r.stdout)
		requireInOrder(t, r.lines,
			`^Retrying BatchInference run from Monitor Model Performance \(failed step: Monitor Model Performance\)$`,
			`^\s+reset run ID\s+`+regexp.QuoteMeta(failed.RunID)+` \(to event \d+\)$`,
			`^\s+reason\s+starter retry from Monitor Model Performance: Failed: Monitor Model Performance: `,
			`Inference\s+completed`,
			`Monitor Model Performance\s+completed .*AUC 0\.\d{4}`,
			`^BatchInference Completed in`,
			`^\s+transform job\s+`+regexp.QuoteMeta(job)+`$`,
		)
		sum := statusJSON(t, s, id)
		require.Equal(t, "Completed", sum.Status)
		require.NotEqual(t, failed.RunID, sum.RunID)
		require.Equal(t, job, sum.Inference.TransformJobName, "the failed run's transform job")
		require.Equal(t, before, transformJobs(ctx, t, sm, model), "no new transform job")
		requireResetReason(ctx, t, tc, id, sum.RunID, failed.RunID, "starter retry from Monitor Model Performance: Failed: Monitor Model Performance: ")

		r = runCLI(ctx, s, "retry", id)
		require.Equal(t, cli.ExitError, r.code, r.String())
		require.Contains(t, r.err.Error(), id+" completed: nothing to retry")
		require.Equal(t, sum.RunID, statusJSON(t, s, id).RunID, "no new run")
	})

	t.Run("retry --from Inference makes a new transform job", func(t *testing.T) {
		id := workflows.BatchInferenceWorkflowID(model, "2019-12-02")
		failed, target := failAtMonitor(ctx, t, s, model, "2019-12-02")
		job := stepJob(failed, workflows.StepInference)
		before := transformJobs(ctx, t, sm, model)
		putTarget(ctx, t, s, "2019-12-02", target)

		r := runCLI(ctx, s, "retry", id, "--from", "inference", "--reason", "holdout data replaced", "-o", "json")
		require.NoError(t, r.err, r.String())
		require.Contains(t, r.stderr, "Retrying BatchInference run from Initialize (failed step: Monitor Model Performance)")
		require.Contains(t, r.stderr, "Inference runs a SageMaker job, and job names are unique forever: starting from Initialize")
		var sum cli.Summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.String())
		require.Equal(t, "Completed", sum.Status)
		require.NotEqual(t, job, sum.Inference.TransformJobName, "a new transform job")
		require.Equal(t, before+1, transformJobs(ctx, t, sm, model))
		requireResetReason(ctx, t, tc, id, sum.RunID, failed.RunID, "holdout data replaced")
	})

	t.Run("retry after the retrain child ended starts a new child run", func(t *testing.T) {
		id := workflows.BatchInferenceWorkflowID(model, "2019-12-03")
		childID := workflows.RetrainWorkflowID(model)
		require.NoError(t, os.WriteFile(slowMarker, nil, 0o644)) // the child's training runs until stopped
		t.Cleanup(func() { os.Remove(slowMarker) })
		r := runCLI(ctx, s, "infer", "--model", model, "--data-date", "2019-12-03", "--threshold", "1")
		require.NoError(t, r.err, r.String())
		require.Eventually(t, func() bool {
			sum, err := statusOf(s, childID)
			if err != nil {
				return false // the child has not started yet
			}
			for _, j := range sum.Jobs {
				if j.Status == "InProgress" {
					return true
				}
			}
			return false
		}, 2*time.Minute, 500*time.Millisecond, "the retrain child's training job did not start")
		r = runCLI(ctx, s, "cancel", childID)
		require.NoError(t, r.err, r.String())
		r = runCLI(ctx, s, "watch", id)
		require.Equal(t, cli.ExitRunFailed, r.code, r.String())
		require.Regexp(t, `(?m)^\s+failed step\s+Re-train Model$`, r.stdout)
		failed := statusJSON(t, s, id)
		oldChild := statusJSON(t, s, childID)
		require.NoError(t, os.Remove(slowMarker))

		r = runCLI(ctx, s, "retry", id)
		require.NoError(t, r.err, r.String())
		t.Logf("starter retry:\n%s", r.stdout)
		requireInOrder(t, r.lines,
			`^Retrying BatchInference run from Re-train Model \(failed step: Re-train Model\)$`,
			`^\s+note\s+the new run starts the retrain child `+regexp.QuoteMeta(childID)+` again`,
			`Re-train Model\s+started\s+`+regexp.QuoteMeta(childID),
			`Re-train Model > Register Model\s+completed`,
			`^BatchInference Completed in`,
		)
		sum := statusJSON(t, s, id)
		require.Equal(t, "Completed", sum.Status)
		require.NotEqual(t, oldChild.RunID, sum.RetrainRunID, "a new run of the child")
		require.Equal(t, stepJob(failed, workflows.StepInference), sum.Inference.TransformJobName, "the transform job kept")
	})
}

// statusOf is `starter status ID -o json`, or its error.
func statusOf(s *stack.Stack, id string) (cli.Summary, error) {
	r := runCLI(context.Background(), s, "status", id, "--output", "json")
	var sum cli.Summary
	if r.code == cli.ExitError {
		return sum, r.err
	}
	return sum, json.Unmarshal([]byte(r.stdout), &sum)
}

// failAtMonitor starts a batch-inference run and deletes its holdout target after Initialize has found it:
// SageMaker calls are throttled until then, which holds the run at Find Model. It returns the failed run's
// summary and the target's content.
func failAtMonitor(ctx context.Context, t *testing.T, s *stack.Stack, model, date string) (cli.Summary, []byte) {
	t.Helper()
	id := workflows.BatchInferenceWorkflowID(model, date)
	setFaults(ctx, t, s, `{"Throttle": 1, "Services": ["sagemaker"]}`)
	t.Cleanup(func() { setFaults(context.Background(), t, s, "") })
	r := runCLI(ctx, s, "infer", "--model", model, "--data-date", date, "--threshold", "0")
	require.NoError(t, r.err, r.String())
	require.Eventually(t, func() bool {
		return stepState(statusJSON(t, s, id), workflows.StepInitialize) == workflows.StepCompleted
	}, 2*time.Minute, 200*time.Millisecond, "Initialize did not complete")

	r = runCLI(ctx, s, "retry", id)
	require.Equal(t, cli.ExitError, r.code, r.String())
	require.Contains(t, r.err.Error(), "is still open: nothing to retry yet")

	s3c := s3Client(s)
	key := aws.String("input-data/" + date + "/holdout_target/holdout_target.csv")
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(localdefaults.Bucket), Key: key})
	require.NoError(t, err)
	target, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	require.NoError(t, err)
	_, err = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(localdefaults.Bucket), Key: key})
	require.NoError(t, err)
	setFaults(ctx, t, s, "")

	r = runCLI(ctx, s, "watch", id)
	require.Equal(t, cli.ExitRunFailed, r.code, r.String())
	require.Regexp(t, `(?m)^\s+failed step\s+Monitor Model Performance$`, r.stdout)
	require.Regexp(t, `(?m)^\s+error\s+DataNotFound: `, r.stdout)
	return statusJSON(t, s, id), target
}

func putTarget(ctx context.Context, t *testing.T, s *stack.Stack, date string, target []byte) {
	t.Helper()
	_, err := s3Client(s).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(localdefaults.Bucket),
		Key: aws.String("input-data/" + date + "/holdout_target/holdout_target.csv"), Body: bytes.NewReader(target)})
	require.NoError(t, err)
}

// setFaults sets localaws's fault injection to config (JSON), or clears it when config is empty.
func setFaults(ctx context.Context, t *testing.T, s *stack.Stack, config string) {
	t.Helper()
	method := http.MethodPost
	if config == "" {
		method = http.MethodDelete
	}
	req, err := http.NewRequestWithContext(ctx, method, s.LocalAWS+"/_localaws/faults", bytes.NewReader([]byte(config)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK/100, res.StatusCode/100, "%s faults: %s", method, res.Status)
}

func s3Client(s *stack.Stack) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(s.LocalAWS), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// transformJobs counts the transform jobs of model's runs.
func transformJobs(ctx context.Context, t *testing.T, sm *sagemaker.Client, model string) int {
	t.Helper()
	out, err := sm.ListTransformJobs(ctx, &sagemaker.ListTransformJobsInput{NameContains: aws.String(model + "-"), MaxResults: aws.Int32(100)})
	require.NoError(t, err)
	return len(out.TransformJobSummaries)
}

func stepState(sum cli.Summary, step string) string {
	for _, st := range sum.Steps {
		if st.Name == step {
			return st.State
		}
	}
	return ""
}

func stepJob(sum cli.Summary, step string) string {
	for _, st := range sum.Steps {
		if st.Name == step {
			return st.JobName
		}
	}
	return ""
}

// requireResetReason checks that the history of run records its reset from base with reason.
func requireResetReason(ctx context.Context, t *testing.T, c client.Client, id, run, base, reason string) {
	t.Helper()
	iter := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		a := ev.GetWorkflowTaskFailedEventAttributes()
		if a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			require.Equal(t, base, a.GetBaseRunId())
			require.Contains(t, a.GetFailure().GetMessage(), reason)
			return
		}
	}
	t.Fatalf("the history of %s run %s has no reset event", id, run)
}
