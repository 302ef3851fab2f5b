package workflows

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// TestWorkflowsApplyEveryRequestRule runs each workflow with a request that breaks one rule of
// contract.RequestRules (and no other): it must fail InvalidInput before any activity. A rule the workflows
// stopped checking fails here (and in parity, where the state machines meet the same requests).
func TestWorkflowsApplyEveryRequestRule(t *testing.T) {
	for _, kind := range []contract.RequestKind{contract.TrainingRequest, contract.InferenceRequest} {
		for _, r := range contract.RequestRules() {
			if !r.AppliesTo(kind) {
				continue
			}
			t.Run(string(kind)+"/"+r.Name, func(t *testing.T) {
				in := contract.WorkflowInput{ModelName: "m", DataDate: "2019-10-01"}
				r.Break(&in)
				env := newEnv(t)
				// No activity is mocked: any activity call would fail the test with an unmocked-call panic.
				if kind == contract.TrainingRequest {
					env.ExecuteWorkflow(Training, TrainingInput{ModelName: in.ModelName, DataDate: in.DataDate, DataDateOffset: in.DataDateOffset,
						ScheduledTime: in.ScheduledTime, ApprovalStatus: in.ApprovalStatus})
				} else {
					env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: in.ModelName, DataDate: in.DataDate, DataDateOffset: in.DataDateOffset,
						ScheduledTime: in.ScheduledTime, Threshold: in.Threshold})
				}
				requireInvalidInput(t, env)
			})
		}
	}
}

// TestDefaultsAreValid: the values that mean "the default" (empty approval status, no threshold) and the
// edges of the ranges pass validation.
func TestDefaultsAreValid(t *testing.T) {
	zero, one := 0.0, 1.0
	long := strings.Repeat("a", 63)
	for _, in := range []TrainingInput{
		{ModelName: "m", DataDate: "2019-10-01"},
		{ModelName: long, DataDate: "2019-10-01", ApprovalStatus: "PendingManualApproval"},
		{ModelName: strings.Repeat("a-", 31) + "a", DataDate: "2019-10-01", ApprovalStatus: "Approved"},
	} {
		require.NoError(t, in.Validate(), "%+v", in)
	}
	for _, in := range []BatchInferenceInput{
		{ModelName: "m", DataDate: "2019-10-01"},
		{ModelName: "m", DataDate: "2019-10-01", Threshold: &zero},
		{ModelName: "m", DataDate: "2019-10-01", Threshold: &one},
	} {
		require.NoError(t, in.Validate(), "%+v", in)
	}
}

// TestLongHyphenatedNameIsInvalid: the name pattern bounds the letters and digits, not the length; the
// length rule does.
func TestLongHyphenatedNameIsInvalid(t *testing.T) {
	name := strings.Repeat("a-", 32) + "a"
	require.ErrorContains(t, TrainingInput{ModelName: name, DataDate: "2019-10-01"}.Validate(), "1-63 characters")
	require.ErrorContains(t, BatchInferenceInput{ModelName: name, DataDate: "2019-10-01"}.Validate(), "1-63 characters")
}

func requireInvalidInput(t *testing.T, env *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, activities.ErrInvalidInput, app.Type())
	require.True(t, app.NonRetryable())
}

// TestInputFieldsAreTheContractsRequestFields: a workflow input decodes exactly the fields that
// contract.RequestFields lists for its pipeline, which the Initialize functions accept in a state machine's
// execution input. A field added to one side only (the workflows would accept what Step Functions rejects,
// or the other way round) fails here.
func TestInputFieldsAreTheContractsRequestFields(t *testing.T) {
	for _, tc := range []struct {
		kind  contract.RequestKind
		input any
	}{{contract.TrainingRequest, TrainingInput{}}, {contract.InferenceRequest, BatchInferenceInput{}}} {
		var fields []string
		typ := reflect.TypeOf(tc.input)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if f.IsExported() && name != "-" {
				fields = append(fields, name) // as strictjson names them
			}
		}
		require.ElementsMatch(t, contract.RequestFields(tc.kind), fields, "%s request fields", tc.kind)
	}
}
