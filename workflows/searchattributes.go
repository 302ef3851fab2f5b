package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// SearchAttribute is a custom search attribute the workflows set, with the type a namespace must register it
// as, spelt as the Temporal CLI's --search-attribute and --type flags spell it ("Keyword", "Double", "Int").
type SearchAttribute struct {
	Name string
	Type string
}

// IndexedType is the attribute's type as the Temporal API names it.
func (a SearchAttribute) IndexedType() enumspb.IndexedValueType {
	t, _ := enumspb.IndexedValueTypeFromString(a.Type)
	return t
}

// SearchAttributes lists every custom search attribute the workflows set, in the order the setups register
// them. It is the list the local stack registers on its dev server; scripts/stack.sh, deploy/temporal/cluster.sh
// and docker-compose.yml register the same (deploy/temporal/search-attributes; internal/deploycheck holds them
// to this list), and the worker sets only those it finds registered.
func SearchAttributes() []SearchAttribute {
	return []SearchAttribute{
		{ModelNameAttribute.GetName(), "Keyword"},
		{DataDateAttribute.GetName(), "Keyword"},
		{DecisionAttribute.GetName(), "Keyword"},
		{AUCAttribute.GetName(), "Double"},
		{ModelVersionAttribute.GetName(), "Int"},
		{ApprovalStatusAttribute.GetName(), "Keyword"},
		{TriggerAttribute.GetName(), "Keyword"},
	}
}

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
	if err := setSearchAttributes(ctx, t, def, model, date); err != nil {
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
func setSearchAttributes(ctx workflow.Context, t *tracker, d *defaults, model, date string) error {
	sa := workflow.GetTypedSearchAttributes(ctx)
	m, okModel := sa.GetKeyword(ModelNameAttribute)
	dd, okDate := sa.GetKeyword(DataDateAttribute)
	if okModel && m == model && okDate && dd == date {
		return nil
	}
	if !t.changed(ctx, searchAttributesChange) {
		return nil
	}
	def, err := d.get(ctx)
	if err != nil {
		return err
	}
	if !def.Registered(ModelNameAttribute.GetName()) || !def.Registered(DataDateAttribute.GetName()) {
		workflow.GetLogger(ctx).Warn("Run started without its search attributes, which are not registered on the namespace",
			"ModelName", model, "DataDate", date)
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, ModelNameAttribute.ValueSet(model), DataDateAttribute.ValueSet(date))
}

// attributeUpdate is one search attribute a run sets: its name, to check it is registered, and the update.
type attributeUpdate struct {
	name string
	set  temporal.SearchAttributeUpdate
}

func keywordAttr(key temporal.SearchAttributeKeyKeyword, v string) attributeUpdate {
	return attributeUpdate{key.GetName(), key.ValueSet(v)}
}

func floatAttr(key temporal.SearchAttributeKeyFloat64, v float64) attributeUpdate {
	return attributeUpdate{key.GetName(), key.ValueSet(v)}
}

func intAttr(key temporal.SearchAttributeKeyInt64, v int64) attributeUpdate {
	return attributeUpdate{key.GetName(), key.ValueSet(v)}
}

// setAttributes upserts those of updates whose attributes the worker found registered on its namespace
// (activities.DefaultsOutput.Registered) and drops the others, so that e.g. `Decision="RetrainSuppressed"` or
// `AUC < 0.8` finds the run where the setup registered them and a run elsewhere still completes.
func setAttributes(ctx workflow.Context, d *defaults, updates ...attributeUpdate) error {
	def, err := d.get(ctx)
	if err != nil {
		return err
	}
	var set []temporal.SearchAttributeUpdate
	for _, u := range updates {
		if def.Registered(u.name) {
			set = append(set, u.set)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, set...)
}
