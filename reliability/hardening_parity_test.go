package reliability_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestRequestRulesOnTheStack sends, through the real stack, the requests the two engines used to disagree on
// (issue 15): a hyphenated ModelName over 63 characters to both workflows, and to the Initialize functions
// (which the state machines call) the same name, an unknown approval status and a threshold out of range.
// Each must be rejected as InvalidInput, naming the field, and create nothing.
func TestRequestRulesOnTheStack(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	before := snapshot(t, ctx, h)
	long := strings.Repeat("a-", 32) + "a" // 65 characters, only 33 of them letters

	for _, tc := range []struct {
		name, workflow string
		input          any
	}{
		{"training: 65-character hyphenated model", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: long, DataDate: "2019-10-01"}},
		{"inference: 65-character hyphenated model", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: long, DataDate: "2019-11-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, tc.workflow, tc.input)
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, activities.ErrInvalidInput, app.Type(), err.Error())
			require.Contains(t, err.Error(), "must be 1-63 characters long")
		})
	}

	for _, tc := range []struct {
		name, function, payload, want string
	}{
		{"initialize-training: 65-character hyphenated model", "initialize-training",
			`{"WorkflowInput":{"ModelName":"` + long + `","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-local"}`, "WorkflowInput.ModelName"},
		{"initialize-training: unknown approval status", "initialize-training",
			`{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-10-01","ApprovalStatus":"Maybe"},"S3RootBucket":"mdlc-local"}`, "WorkflowInput.ApprovalStatus"},
		{"initialize-inference: threshold above 1", "initialize-inference",
			`{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-11-01","Threshold":1.5},"S3RootBucket":"mdlc-local"}`, "WorkflowInput.Threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)})
			require.NoError(t, err, "a function error is a 200 answer with FunctionError set")
			require.Equal(t, "Unhandled", aws.ToString(out.FunctionError), string(out.Payload))
			require.Contains(t, string(out.Payload), `"errorType":"InvalidInput"`)
			require.Contains(t, string(out.Payload), tc.want)
		})
	}
	require.Equal(t, before, snapshot(t, ctx, h), "no rejected request created anything")
}
