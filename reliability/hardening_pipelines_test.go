package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestPipelineHardening meets the pipelines' input handling as users do, on one real stack: runs started from
// the Temporal CLI (as the web UI or another SDK would start them, without the starter's checks or search
// attributes), oversized values, and the starter attaching to an open run that was started with other input.
func TestPipelineHardening(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	temporalCLI := os.Getenv("MDLC_TEMPORAL_BIN")
	if temporalCLI == "" {
		var err error
		temporalCLI, err = exec.LookPath("temporal")
		require.NoError(t, err, "the stack started, so the Temporal CLI exists: set MDLC_TEMPORAL_BIN")
	}
	// startFromCLI starts a run with the Temporal CLI, as a user would from a terminal.
	startFromCLI := func(t *testing.T, workflowType, id, input string) client.WorkflowRun {
		t.Helper()
		out, err := exec.CommandContext(ctx, temporalCLI, "workflow", "start", "--address", h.TemporalAddress,
			"--task-queue", workflows.TaskQueue, "--type", workflowType, "--workflow-id", id, "--input", input).CombinedOutput()
		require.NoError(t, err, "temporal workflow start: %s", out)
		return h.Temporal.GetWorkflow(ctx, id, "")
	}
	// requireFailedFast checks that the run failed with wantType and a message holding every want, without
	// scheduling any activity, and that it ended Failed (not Terminated by the server).
	requireFailedFast := func(t *testing.T, run client.WorkflowRun, wantType string, want ...string) error {
		t.Helper()
		err := run.Get(ctx, nil)
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app, "run %s", run.GetID())
		require.Equal(t, wantType, app.Type(), err.Error())
		for _, w := range want {
			require.Contains(t, err.Error(), w)
		}
		d, derr := h.Temporal.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		require.NoError(t, derr)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, d.GetWorkflowExecutionInfo().GetStatus())
		events, herr := h.History(ctx, run.GetID(), run.GetRunID())
		require.NoError(t, herr)
		for _, e := range events {
			// The worker's defaults (read as the run ends, for its notification) are no step's work.
			typ, isActivity := workflows.ActivityOf(e)
			require.False(t, isActivity && !slices.Contains(workflows.RunWork, typ), "a bad input ran activity %q (event %d)", typ, e.GetEventId())
		}
		return err
	}
	env := map[string]string{}
	for _, kv := range h.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	starter := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := cli.Run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}

	// Issue 10 item 21: a misspelt or wrongly cased field fails at once, whichever client started the run.
	t.Run("misspelt field from the Temporal CLI", func(t *testing.T) {
		run := startFromCLI(t, workflows.BatchInferenceWorkflow, "hardening-treshold", `{"ModelName":"churn","DataDate":"2019-11-01","Treshold":0.99}`)
		requireFailedFast(t, run, activities.ErrInvalidInput, `unknown field "Treshold"`, "ModelName, DataDate, DataDateOffset, ScheduledTime, Threshold")
	})
	t.Run("field in the wrong case from the Temporal CLI", func(t *testing.T) {
		run := startFromCLI(t, workflows.TrainingWorkflow, "hardening-case", `{"modelName":"churn","DataDate":"2019-10-01"}`)
		requireFailedFast(t, run, activities.ErrInvalidInput, `field "modelName" must be written "ModelName"`)
	})
	t.Run("field in the wrong case from the Go client", func(t *testing.T) {
		run, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.BatchInferenceWorkflow,
			map[string]any{"ModelName": "churn", "DataDate": "2019-11-01", "threshold": 0.99})
		require.NoError(t, err)
		requireFailedFast(t, run, activities.ErrInvalidInput, `field "threshold" must be written "Threshold"`)
	})

	// Issue 10 item 22: an oversized value is quoted by a short prefix, so the failure stays under Temporal's
	// size limit (the run fails InvalidInput instead of being terminated) and the Lambda's errorMessage is short.
	t.Run("1.5 MB model name", func(t *testing.T) {
		huge := strings.Repeat("m", 1536*1024)
		run, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.TrainingWorkflow,
			workflows.TrainingInput{ModelName: huge, DataDate: "2019-10-01"})
		require.NoError(t, err)
		err = requireFailedFast(t, run, activities.ErrInvalidInput, "model name", "(1572864 bytes)")
		require.Less(t, len(err.Error()), 4096)
	})
	t.Run("5 MB model name to the Lambda", func(t *testing.T) {
		event, err := json.Marshal(map[string]any{
			"WorkflowInput": map[string]string{"ModelName": strings.Repeat("m", 5<<20), "DataDate": "2019-10-01"}, "S3RootBucket": "mdlc-local",
		})
		require.NoError(t, err)
		out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("initialize-training"), Payload: event})
		require.NoError(t, err)
		require.Equal(t, "Unhandled", aws.ToString(out.FunctionError))
		if len(out.Payload) > 1024 {
			t.Fatalf("function error of %d bytes: %.300s…", len(out.Payload), out.Payload)
		}
		require.Contains(t, string(out.Payload), `"errorType":"InvalidInput"`)
		require.Contains(t, string(out.Payload), "(5242880 bytes)")
	})

	// Issue 10 item 23: a run started without search attributes sets its own, so filtering by model finds it.
	t.Run("run started from the Temporal CLI is found by model", func(t *testing.T) {
		const model, id = "cli-model", "cli-started-training"
		run := startFromCLI(t, workflows.TrainingWorkflow, id, `{"ModelName":"`+model+`","DataDate":"2019-10-01"}`)
		require.NoError(t, run.Get(ctx, nil))
		// Visibility is eventually consistent: wait until it shows the run closed, which it records after the
		// run's search attributes were set, then filter by model.
		list := func(query string) []string {
			resp, err := h.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			require.NoError(t, err, "list %s", query)
			var ids []string
			for _, e := range resp.GetExecutions() {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
			return ids
		}
		for len(list(`WorkflowId="`+id+`" AND ExecutionStatus="Completed"`)) == 0 {
			select {
			case <-ctx.Done():
				t.Fatalf("visibility never showed %s completed", id)
			case <-time.After(200 * time.Millisecond):
			}
		}
		require.Equal(t, []string{id}, list(`ModelName="`+model+`" AND DataDate="2019-10-01"`))
		out, err := starter("list", "--model", model, "-o", "json")
		require.NoError(t, err)
		var runs []cli.RunListing
		require.NoError(t, json.Unmarshal([]byte(out), &runs), out)
		require.Len(t, runs, 1, out)
		require.Equal(t, id, runs[0].WorkflowID)
	})

	// Issue 10 item 20: the starter does not report attaching to an open run that will not do what was asked.
	// With the worker down the runs stay open.
	t.Run("attach to an open run with other input", func(t *testing.T) {
		require.NoError(t, h.KillWorker())
		inferID := workflows.BatchInferenceWorkflowID("churn", "2019-11-01")
		trainID := workflows.TrainingWorkflowID("churn", "2019-10-01")
		defer func() {
			for _, id := range []string{inferID, trainID} {
				_ = h.Temporal.TerminateWorkflow(context.Background(), id, "", "test over")
			}
		}()
		_, err := starter("infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "0.5")
		require.NoError(t, err)
		_, err = starter("infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "0.9")
		require.Error(t, err)
		require.Equal(t, cli.ExitError, cli.ExitCode(err))
		require.Contains(t, err.Error(), "Threshold is 0.5 there, you asked for 0.9")
		require.Contains(t, err.Error(), "starter cancel "+inferID)
		out, err := starter("infer", "--model", "churn", "--data-date", "2019-11-01")
		require.NoError(t, err, "a request that leaves the threshold to the default attaches")
		require.Contains(t, out, "Attached to the BatchInference run already in progress")

		_, err = starter("train", "--model", "churn", "--data-date", "2019-10-01")
		require.NoError(t, err)
		_, err = starter("train", "--model", "churn", "--data-date", "2019-10-01", "--approval-status", "PendingManualApproval")
		require.Equal(t, cli.ExitError, cli.ExitCode(err), "%v", err)
		require.Contains(t, err.Error(), "ApprovalStatus is (the worker's default) there, you asked for PendingManualApproval")
	})
}
