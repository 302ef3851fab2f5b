package parity

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// TestInitializeGetsEveryRuleField: the state machines enforce contract.RequestRules by passing the fields the
// rules check to the Initialize function. A rule whose field the state machine stopped passing would go
// unchecked on Step Functions (TestEnginesDecideAlike's rule scenarios show it on a run; this shows it
// without one).
func TestInitializeGetsEveryRuleField(t *testing.T) {
	for _, p := range []struct {
		pipeline Pipeline
		kind     contract.RequestKind
	}{{TrainingPipeline, contract.TrainingRequest}, {BatchInferencePipeline, contract.InferenceRequest}} {
		m, err := Build(p.pipeline, goldenConfig())
		if err != nil {
			t.Fatal(err)
		}
		var task *Task
		for _, s := range m.States {
			if s.Name == workflows.StepInitialize {
				task, _ = s.State.(*Task)
			}
		}
		if task == nil {
			t.Fatalf("%s: no Initialize task", p.pipeline)
		}
		var params struct {
			Payload struct{ WorkflowInput map[string]string }
		}
		if err := json.Unmarshal(task.Parameters, &params); err != nil {
			t.Fatalf("%s: Initialize parameters %s: %v", p.pipeline, task.Parameters, err)
		}
		for _, r := range contract.RequestRules() {
			if !r.AppliesTo(p.kind) {
				continue
			}
			if slices.Contains(requestOnlyFields, r.Field) {
				// Read from Request, which the strict scenarios show to be passed.
				if _, ok := params.Payload.WorkflowInput[r.Field+".$"]; ok {
					t.Errorf("%s: Initialize's WorkflowInput passes %s, which may be absent (a path to it would fail States.Runtime)", p.pipeline, r.Field)
				}
				continue
			}
			if got := params.Payload.WorkflowInput[r.Field+".$"]; got != "$."+r.Field {
				t.Errorf("%s: rule %q: Initialize's WorkflowInput passes %s as %q, want the request's $.%s", p.pipeline, r.Name, r.Field, got, r.Field)
			}
		}
	}
}
