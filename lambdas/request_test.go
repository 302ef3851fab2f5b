package lambdas

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// TestInitializeChecksEveryRequestRule sends, for every rule, an event that breaks it to the Initialize
// function of each kind of request the rule applies to, through the functions' JSON entry point: the state
// machines rely on these checks. It also shows that the values meaning "the default" pass.
func TestInitializeChecksEveryRequestRule(t *testing.T) {
	invoke := func(kind contract.RequestKind, in contract.WorkflowInput) (messages.InvokeResponse_Error, bool, []string) {
		data, function := trainingData, contract.InitializeTrainingFunction
		if kind == contract.InferenceRequest {
			data, function = inferenceData, contract.InitializeInferenceFunction
		}
		s3 := newFakeS3(testBucket, data)
		event, err := json.Marshal(contract.InitializeEvent{WorkflowInput: in, S3RootBucket: testBucket, IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Functions(s3, WithClock(fixedClock))[function].Invoke(context.Background(), event)
		puts := s3.puts
		if err == nil {
			return messages.InvokeResponse_Error{}, true, puts
		}
		e, ok := err.(messages.InvokeResponse_Error)
		if !ok {
			t.Fatalf("%s: error %T %v is not a function error", function, err, err)
		}
		return e, false, puts
	}
	valid := func(kind contract.RequestKind) contract.WorkflowInput {
		if kind == contract.TrainingRequest {
			return contract.WorkflowInput{ModelName: "churn", DataDate: trainingEvent().WorkflowInput.DataDate}
		}
		return contract.WorkflowInput{ModelName: "churn", DataDate: inferenceEvent().WorkflowInput.DataDate}
	}
	for _, kind := range []contract.RequestKind{contract.TrainingRequest, contract.InferenceRequest} {
		in := valid(kind)
		in.ApprovalStatus, in.Threshold = contract.ApprovalPending, new(0.0)
		if e, ok, _ := invoke(kind, in); !ok {
			t.Errorf("%s: valid request %+v failed: %+v", kind, in, e)
		}
		applied := 0
		for _, r := range contract.RequestRules() {
			if !r.AppliesTo(kind) {
				continue
			}
			applied++
			in := valid(kind)
			r.Break(&in)
			e, ok, puts := invoke(kind, in)
			if ok || e.Type != contract.ErrorInvalidInput || !strings.Contains(e.Message, "WorkflowInput."+r.Field) {
				t.Errorf("%s: rule %q: request %+v gave %+v (ok %v), want InvalidInput", kind, r.Name, in, e, ok)
			}
			if len(puts) != 0 {
				t.Errorf("%s: rule %q: the rejected request wrote %v", kind, r.Name, puts)
			}
			if others := validateExcept(kind, in, r.Name); others != nil {
				t.Errorf("%s: rule %q: Break breaks other rules too: %v", kind, r.Name, others)
			}
		}
		if applied < 3 {
			t.Errorf("%s: only %d rules apply", kind, applied)
		}
	}
}

// validateExcept checks in against every rule of kind but the one named skip.
func validateExcept(kind contract.RequestKind, in contract.WorkflowInput, skip string) error {
	for _, r := range contract.RequestRules() {
		if r.AppliesTo(kind) && r.Name != skip {
			if err := r.Check(in); err != nil {
				return err
			}
		}
	}
	return nil
}
