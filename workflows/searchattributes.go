package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// searchAttributesChange versions the step that sets a run's own search attributes: runs recorded before it
// (and still open when a worker with it picks them up) replay without it.
const searchAttributesChange = "set-search-attributes"

// defaults fetches the worker's pipeline defaults (a local activity, recorded in the history) at most once
// per run.
type defaults struct{ got *activities.DefaultsOutput }

func (d *defaults) get(ctx workflow.Context) (activities.DefaultsOutput, error) {
	if d.got != nil {
		return *d.got, nil
	}
	var out activities.DefaultsOutput
	lctx := workflow.WithLocalActivityOptions(ctx, defaultsOptions)
	if err := workflow.ExecuteLocalActivity(lctx, a.Defaults, activities.DefaultsInput{}).Get(ctx, &out); err != nil {
		return out, err
	}
	d.got = &out
	return out, nil
}

// runDefaults is the first part of Initialize, before its Lambda call: it sets the run's search attributes
// and, when need is true (the request leaves a setting to the worker), returns the worker's pipeline defaults,
// with one local activity at most for both (def keeps them for the rest of the run, e.g. notify). Its error
// fails Initialize.
func runDefaults(ctx workflow.Context, t *tracker, def *defaults, model, date string, need bool) (activities.DefaultsOutput, error) {
	if err := setSearchAttributes(ctx, def, model, date); err != nil {
		return activities.DefaultsOutput{}, t.fail(ctx, StepInitialize, err)
	}
	if !need {
		return activities.DefaultsOutput{}, nil
	}
	d, err := def.get(ctx)
	if err != nil {
		return d, t.fail(ctx, StepInitialize, err)
	}
	return d, nil
}

// setSearchAttributes gives a run whose start request did not carry its ModelName and DataDate search
// attributes (or carried other values) the request's own, so that `ModelName="X"` in the web UI and
// `starter list` find runs started from the Temporal CLI, the web UI or another SDK too. The starter sets them
// at start, and then nothing happens here. It is a no-op when the worker found the attributes unregistered
// on its namespace: upserting an unknown attribute would fail every workflow task of the run.
func setSearchAttributes(ctx workflow.Context, d *defaults, model, date string) error {
	sa := workflow.GetTypedSearchAttributes(ctx)
	m, okModel := sa.GetKeyword(ModelNameAttribute)
	dd, okDate := sa.GetKeyword(DataDateAttribute)
	if okModel && m == model && okDate && dd == date {
		return nil
	}
	if workflow.GetVersion(ctx, searchAttributesChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	def, err := d.get(ctx)
	if err != nil {
		return err
	}
	if !def.SearchAttributes {
		workflow.GetLogger(ctx).Warn("Run started without its search attributes, which are not registered on the namespace",
			"ModelName", model, "DataDate", date)
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, ModelNameAttribute.ValueSet(model), DataDateAttribute.ValueSet(date))
}

// setDecisionAttribute sets the run's Decision search attribute to decision, when the worker found it
// registered on its namespace (see activities.Config.DecisionAttribute), so that `Decision="RetrainSuppressed"`
// finds the runs whose retrain a guard held back.
func setDecisionAttribute(ctx workflow.Context, d *defaults, decision string) error {
	def, err := d.get(ctx)
	if err != nil {
		return err
	}
	if !def.DecisionAttribute {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, DecisionAttribute.ValueSet(decision))
}
