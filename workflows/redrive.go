package workflows

import (
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// StepWork is a step of a workflow that does its work outside the workflow: an activity, or for Re-train Model
// a child workflow. `starter retry` finds a run's steps in its history by these types.
type StepWork struct {
	// Step is the step's name (the Step* constants).
	Step string
	// ActivityType is the type of the activity the step runs; ChildWorkflowType that of its child workflow
	// (one of the two is set).
	ActivityType, ChildWorkflowType string
	// HandlerActivityTypes are activities the step's Update handlers run while the step waits (Wait for
	// Approval records a person's decision with DecideApproval): the step's work too.
	HandlerActivityTypes []string
	// NamedJob is true for a step that runs a SageMaker job whose name Initialize chose (Train Model,
	// Inference). SageMaker job names are unique forever, and a job is attached to only by the run that created
	// it (activities.RunTag), so such a step can only be done again in a new run after Initialize has run again
	// in that run and named a new job.
	NamedJob bool
}

// TrainingStepWork and BatchInferenceStepWork are the steps of each workflow with work of their own, in the
// order they run. Is Re-training Needed? has work only when a retrain guard is configured (CheckRetrainGuard,
// after an AUC below the threshold).
var (
	TrainingStepWork = []StepWork{
		{Step: StepInitialize, ActivityType: "InitializeTraining"},
		{Step: StepTrainModel, ActivityType: "TrainModel", NamedJob: true},
		{Step: StepCreateModel, ActivityType: "CreateModel"},
		{Step: StepEvaluate, ActivityType: "BatchTransform", NamedJob: true},
		{Step: StepEvaluate, ActivityType: "MonitorPerformance"},
		{Step: StepRegister, ActivityType: "RegisterModel"},
		{Step: StepWaitApproval, ActivityType: "WaitForApproval", HandlerActivityTypes: []string{"DecideApproval"}},
	}
	BatchInferenceStepWork = []StepWork{
		{Step: StepInitialize, ActivityType: "InitializeInference"},
		{Step: StepFindModel, ActivityType: "FindModel"},
		{Step: StepInference, ActivityType: "BatchTransform", NamedJob: true},
		{Step: StepMonitor, ActivityType: "MonitorPerformance"},
		{Step: StepDecide, ActivityType: "CheckRetrainGuard"},
		{Step: StepRetrain, ChildWorkflowType: TrainingWorkflow},
	}
)

// Does reports whether the activity type typ is the step's work: its activity or one its Update handlers run.
func (s StepWork) Does(typ string) bool {
	return typ != "" && (s.ActivityType == typ || slices.Contains(s.HandlerActivityTypes, typ))
}

// CloseWork are the activities a run runs as it ends, after its steps, whichever way it ends (the
// notification): no step's work, and nothing a redrive redoes by itself.
var CloseWork = []string{"Notify"}

// RunWork are the local activities a run runs for itself, wherever it needs them (the worker's defaults): no
// step's work either.
var RunWork = []string{"Defaults"}

// localActivityMarker is the name of the marker event that records a local activity's result.
const localActivityMarker = "LocalActivity"

// ActivityOf returns the type of the activity whose work ev records: an ActivityTaskScheduled event's (the
// activity was scheduled), or a local activity's marker's (it finished, in the workflow task whose completion
// recorded the marker; a run's Lambda and API steps run as local activities, see localStepsChange). ok is
// false for any other event. A local activity marker whose data cannot be read gives an empty type.
func ActivityOf(ev *historypb.HistoryEvent) (typ string, ok bool) {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		return ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName(), true
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		m := ev.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != localActivityMarker {
			return "", false
		}
		var data struct{ ActivityType string }
		if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &data); err != nil {
			return "", true
		}
		return data.ActivityType, true
	}
	return "", false
}

// StepWorkOf returns the steps with work of the workflow type workflowType (TrainingWorkflow or
// BatchInferenceWorkflow), or nil for another type.
func StepWorkOf(workflowType string) []StepWork {
	switch workflowType {
	case TrainingWorkflow:
		return TrainingStepWork
	case BatchInferenceWorkflow:
		return BatchInferenceStepWork
	default:
		return nil
	}
}
