package cli

import (
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// history builds a run's history event by event, as the server records one.
type history struct{ events []*historypb.HistoryEvent }

func (h *history) add(ev *historypb.HistoryEvent) int64 {
	ev.EventId = int64(len(h.events) + 1)
	h.events = append(h.events, ev)
	return ev.EventId
}

func newHistory(workflowType, parentID string) *history {
	h := &history{}
	a := &historypb.WorkflowExecutionStartedEventAttributes{WorkflowType: &commonpb.WorkflowType{Name: workflowType}}
	if parentID != "" {
		a.ParentWorkflowExecution = &commonpb.WorkflowExecution{WorkflowId: parentID, RunId: "parent-run"}
	}
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: a}})
	return h
}

// task adds a workflow task (scheduled, started, completed) and returns its WorkflowTaskCompleted event ID.
func (h *history) task() int64 {
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED})
	return h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED})
}

// Outcomes of a step's work in a constructed history.
const (
	ok      = "ok"
	failed  = "failed"
	open    = "open" // scheduled, not closed when the run ended
	timeout = "timeout"
)

// step adds a workflow task that schedules the activity, and the activity's events; it returns the task's
// WorkflowTaskCompleted event ID.
func (h *history) step(activityType, outcome string) int64 {
	task := h.task()
	h.activity(activityType, outcome)
	return task
}

// marker adds a marker event named name with details.
func (h *history) marker(name string, details map[string]*commonpb.Payloads) {
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_MARKER_RECORDED,
		Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: name, Details: details}}})
}

// local adds the marker of a local activity of type activityType, as the SDK records it when the activity
// ends (with or without a failure) in the current workflow task.
func (h *history) local(activityType string) {
	data, err := converter.GetDefaultDataConverter().ToPayloads(map[string]any{"ActivityID": "1", "ActivityType": activityType, "Attempt": 1})
	if err != nil {
		panic(err)
	}
	h.marker("LocalActivity", map[string]*commonpb.Payloads{"data": data})
}

// activity adds the events of an activity the current workflow task scheduled.
func (h *history) activity(activityType, outcome string) {
	id := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activityType}}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED})
	switch outcome {
	case ok:
		h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: id}}})
	case failed:
		h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			Attributes: &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{ScheduledEventId: id}}})
	case timeout:
		h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
			Attributes: &historypb.HistoryEvent_ActivityTaskTimedOutEventAttributes{ActivityTaskTimedOutEventAttributes: &historypb.ActivityTaskTimedOutEventAttributes{ScheduledEventId: id}}})
	}
}

// child adds a workflow task that starts the retrain child, and the child's events.
func (h *history) child(childID, outcome string) int64 {
	task := h.task()
	id := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
		Attributes: &historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes{StartChildWorkflowExecutionInitiatedEventAttributes: &historypb.StartChildWorkflowExecutionInitiatedEventAttributes{
			WorkflowId: childID, WorkflowType: &commonpb.WorkflowType{Name: workflows.TrainingWorkflow}}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED})
	switch outcome {
	case ok:
		h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
			Attributes: &historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes{ChildWorkflowExecutionCompletedEventAttributes: &historypb.ChildWorkflowExecutionCompletedEventAttributes{InitiatedEventId: id}}})
	case failed:
		h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
			Attributes: &historypb.HistoryEvent_ChildWorkflowExecutionFailedEventAttributes{ChildWorkflowExecutionFailedEventAttributes: &historypb.ChildWorkflowExecutionFailedEventAttributes{InitiatedEventId: id}}})
	}
	return task
}

// fail ends the run Failed with an application error of type typ.
func (h *history) fail(typ, msg string) *history {
	h.task()
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
			Failure: &failurepb.Failure{Message: msg, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: typ}}}}}})
	return h
}

// end ends the run with the closing event typ (Completed, TimedOut, Canceled, Terminated).
func (h *history) end(typ enumspb.EventType, reason string) *history {
	ev := &historypb.HistoryEvent{EventType: typ}
	if typ == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{Reason: reason}}
	}
	h.add(ev)
	return h
}

const runID = "batch-inference-churn-2019-11-01"

// monitorFailed is a batch-inference run that failed at Monitor Model Performance, and the tasks that began
// its steps.
func monitorFailed() (*history, []int64) {
	h := newHistory(workflows.BatchInferenceWorkflow, "")
	tasks := []int64{h.step("InitializeInference", ok), h.step("FindModel", ok), h.step("BatchTransform", ok), h.step("MonitorPerformance", failed)}
	h.fail("LambdaFunctionError", "Monitor Model Performance: target s3://mdlc-local/input-data/2019-11-01/holdout_target/holdout_target.csv not found")
	return h, tasks
}

// retrainFailedUnguarded is a batch-inference run whose retrain child failed, decided without a retrain guard.
func retrainFailedUnguarded() *history {
	h := newHistory(workflows.BatchInferenceWorkflow, "")
	h.step("InitializeInference", ok)
	h.step("FindModel", ok)
	h.step("BatchTransform", ok)
	h.step("MonitorPerformance", ok)
	h.child(workflows.RetrainWorkflowID("churn"), failed)
	h.fail("ChildWorkflowFailed", "Re-train Model: child failed")
	return h
}

func TestPlanRedrive(t *testing.T) {
	mon, monTasks := monitorFailed()

	// With notifications on, the Notify activity follows the failure: no step's work.
	notified := newHistory(workflows.BatchInferenceWorkflow, "")
	notifiedTasks := []int64{notified.step("InitializeInference", ok), notified.step("FindModel", ok), notified.step("BatchTransform", ok),
		notified.step("MonitorPerformance", failed), notified.step("Notify", ok)}
	notified.fail("DataNotFound", "Monitor Model Performance: target missing")

	// With a retrain guard, Is Re-training Needed? checks the registry; a failed check is its failure.
	guardFailed := newHistory(workflows.BatchInferenceWorkflow, "")
	guardTasks := []int64{guardFailed.step("InitializeInference", ok), guardFailed.step("FindModel", ok), guardFailed.step("BatchTransform", ok),
		guardFailed.step("MonitorPerformance", ok), guardFailed.step("CheckRetrainGuard", failed)}
	guardFailed.fail("ValidationException", "Is Re-training Needed?: registry")

	findFailed := newHistory(workflows.BatchInferenceWorkflow, "")
	findTasks := []int64{findFailed.step("InitializeInference", ok), findFailed.step("FindModel", failed)}
	findFailed.fail("ModelNotFound", "Find Model: no approved version")

	inferFailed := newHistory(workflows.BatchInferenceWorkflow, "")
	inferTasks := []int64{inferFailed.step("InitializeInference", ok), inferFailed.step("FindModel", ok), inferFailed.step("BatchTransform", failed)}
	inferFailed.fail(activities.ErrJobFailed, "Inference: transform job failed")

	retrainFailed := newHistory(workflows.BatchInferenceWorkflow, "")
	retrainTasks := []int64{retrainFailed.step("InitializeInference", ok), retrainFailed.step("FindModel", ok),
		retrainFailed.step("BatchTransform", ok), retrainFailed.step("MonitorPerformance", ok), retrainFailed.child(runID+"-retrain", failed)}
	retrainFailed.fail("ChildWorkflowFailed", "Re-train Model: child failed")

	childFailed := newHistory(workflows.TrainingWorkflow, runID)
	childTasks := []int64{childFailed.step("InitializeTraining", ok), childFailed.step("TrainModel", ok), childFailed.step("CreateModel", ok), childFailed.step("RegisterModel", failed)}
	childFailed.fail("ValidationException", "Register Model: bad request")

	// A run that waited for a decision: the approval Update's handler ran DecideApproval, which the registry
	// refused, and then the wait itself failed. The step began with the wait, not with the handler's work.
	waitFailed := newHistory(workflows.TrainingWorkflow, "")
	waitTasks := []int64{waitFailed.step("InitializeTraining", ok), waitFailed.step("TrainModel", ok), waitFailed.step("CreateModel", ok),
		waitFailed.step("RegisterModel", ok), waitFailed.step("WaitForApproval", open), waitFailed.step("DecideApproval", failed)}
	waitFailed.fail("ValidationException", "Wait for Approval: model package not found")
	// An evaluated retrain whose monitor failed: the challenger's transform job is kept.
	evalFailed := newHistory(workflows.TrainingWorkflow, runID)
	evalTasks := []int64{evalFailed.step("InitializeTraining", ok), evalFailed.step("TrainModel", ok), evalFailed.step("CreateModel", ok),
		evalFailed.step("BatchTransform", ok), evalFailed.step("MonitorPerformance", failed)}
	evalFailed.fail("S3Error", "Evaluate Re-trained Model: write evaluation")

	terminated := newHistory(workflows.TrainingWorkflow, "")
	termTasks := []int64{terminated.step("InitializeTraining", ok), terminated.step("TrainModel", open)}
	terminated.end(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, "operator")

	timedOut := newHistory(workflows.BatchInferenceWorkflow, "")
	toTasks := []int64{timedOut.step("InitializeInference", ok), timedOut.step("FindModel", ok), timedOut.step("BatchTransform", ok), timedOut.step("MonitorPerformance", timeout)}
	timedOut.end(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, "")

	initFailed := newHistory(workflows.TrainingWorkflow, "")
	initTasks := []int64{initFailed.step("InitializeTraining", failed)}
	initFailed.fail("LambdaServiceError", "Initialize: lambda unavailable")

	// A run with local steps (its Lambda and API calls are local activities, recorded as markers in the
	// workflow task that ran them): the first task reads the defaults, runs Initialize and Find Model and
	// schedules the transform; the next runs Monitor, which fails, and the run fails in the same task.
	local := newHistory(workflows.BatchInferenceWorkflow, "")
	localFirst := local.task()
	local.marker("Version", nil)
	local.local("Defaults")
	local.local("InitializeInference")
	local.local("FindModel")
	local.activity("BatchTransform", ok)
	localMonitor := local.task()
	local.local("MonitorPerformance")
	local.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
			Failure: &failurepb.Failure{Message: "Monitor Model Performance: target missing", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "DataNotFound"}}}}}})

	defaultsFailed := newHistory(workflows.TrainingWorkflow, "")
	firstTask := defaultsFailed.task()
	defaultsFailed.fail("StepFailed", "Initialize: defaults")

	for _, tc := range []struct {
		name        string
		h           *history
		from        string
		wantFailed  string
		wantFrom    string
		wantEvent   int64
		wantChild   string
		wantNotes   []string
		wantOutcome string
	}{
		{name: "monitor failed: only Monitor again, the transform job kept", h: mon, wantFailed: workflows.StepMonitor, wantFrom: workflows.StepMonitor, wantEvent: monTasks[3],
			wantOutcome: "Failed: Monitor Model Performance: target s3://"},
		{name: "--from the failed step itself", h: mon, from: "monitor model performance", wantFailed: workflows.StepMonitor, wantFrom: workflows.StepMonitor, wantEvent: monTasks[3]},
		{name: "--from Inference goes back to Initialize for a new job name", h: mon, from: "Inference", wantFailed: workflows.StepMonitor, wantFrom: workflows.StepInitialize, wantEvent: monTasks[0],
			wantNotes: []string{"Inference runs a SageMaker job, and job names are unique forever: starting from Initialize"}},
		{name: "--from Find Model too, since Inference runs after it", h: mon, from: "find", wantFailed: workflows.StepMonitor, wantFrom: workflows.StepInitialize, wantEvent: monTasks[0],
			wantNotes: []string{"Inference runs a SageMaker job"}},
		{name: "--from Initialize", h: mon, from: "initialize", wantFailed: workflows.StepMonitor, wantFrom: workflows.StepInitialize, wantEvent: monTasks[0]},
		{name: "a notification after the failure is no step", h: notified, wantFailed: workflows.StepMonitor, wantFrom: workflows.StepMonitor, wantEvent: notifiedTasks[3]},
		{name: "the retrain guard's check failed: the decision again", h: guardFailed, wantFailed: workflows.StepDecide, wantFrom: workflows.StepDecide, wantEvent: guardTasks[4]},
		{name: "find model failed before any job: only Find Model again", h: findFailed, wantFailed: workflows.StepFindModel, wantFrom: workflows.StepFindModel, wantEvent: findTasks[1]},
		{name: "inference failed: from Initialize", h: inferFailed, wantFailed: workflows.StepInference, wantFrom: workflows.StepInitialize, wantEvent: inferTasks[0],
			wantNotes: []string{"Inference runs a SageMaker job"}},
		{name: "retrain child failed: a new child run", h: retrainFailed, wantFailed: workflows.StepRetrain, wantFrom: workflows.StepRetrain, wantEvent: retrainTasks[4],
			wantChild: runID + "-retrain", wantNotes: []string{"starts the retrain child " + runID + "-retrain again"}},
		{name: "retrain failed, --from Monitor", h: retrainFailed, from: "Monitor", wantFailed: workflows.StepRetrain, wantFrom: workflows.StepMonitor, wantEvent: retrainTasks[3], wantChild: runID + "-retrain",
			wantNotes: []string{"starts the retrain child"}},
		{name: "the retrain child itself: its parent stays failed", h: childFailed, wantFailed: workflows.StepRegister, wantFrom: workflows.StepRegister, wantEvent: childTasks[3],
			wantNotes: []string{"this is the retrain run of " + runID + ", which stays as it ended"}},
		{name: "the child --from Create Model keeps its training job", h: childFailed, from: "create", wantFailed: workflows.StepRegister, wantFrom: workflows.StepCreateModel, wantEvent: childTasks[2],
			wantNotes: []string{"stays as it ended"}},
		{name: "the child --from Train Model: from Initialize", h: childFailed, from: "train model", wantFailed: workflows.StepRegister, wantFrom: workflows.StepInitialize, wantEvent: childTasks[0],
			wantNotes: []string{"Train Model runs a SageMaker job", "stays as it ended"}},
		{name: "the wait for a decision failed: the wait again, from where it began", h: waitFailed, wantFailed: workflows.StepWaitApproval, wantFrom: workflows.StepWaitApproval,
			wantEvent: waitTasks[4]},
		{name: "the evaluation's monitor failed: only the monitor again", h: evalFailed, wantFailed: workflows.StepEvaluate, wantFrom: workflows.StepEvaluate, wantEvent: evalTasks[4],
			wantNotes: []string{"stays as it ended"}},
		{name: "--from the evaluation (a prefix) runs its transform again: from Initialize", h: evalFailed, from: "evaluate", wantFailed: workflows.StepEvaluate, wantFrom: workflows.StepInitialize,
			wantEvent: evalTasks[0], wantNotes: []string{"Evaluate Re-trained Model runs a SageMaker job", "stays as it ended"}},
		{name: "terminated while training: from Initialize", h: terminated, wantFailed: workflows.StepTrainModel, wantFrom: workflows.StepInitialize, wantEvent: termTasks[0],
			wantOutcome: "Terminated: operator", wantNotes: []string{"Train Model runs a SageMaker job"}},
		{name: "timed out at Monitor", h: timedOut, wantFailed: workflows.StepMonitor, wantFrom: workflows.StepMonitor, wantEvent: toTasks[3], wantOutcome: "TimedOut"},
		{name: "initialize failed (not validation)", h: initFailed, wantFailed: workflows.StepInitialize, wantFrom: workflows.StepInitialize, wantEvent: initTasks[0]},
		{name: "local steps: Monitor again, from the workflow task that ran it", h: local, wantFailed: workflows.StepMonitor, wantFrom: workflows.StepMonitor, wantEvent: localMonitor,
			wantOutcome: "Failed: Monitor Model Performance: target missing"},
		{name: "local steps: --from Find Model, which ran in the first task, from Initialize", h: local, from: "find", wantFailed: workflows.StepMonitor, wantFrom: workflows.StepInitialize,
			wantEvent: localFirst, wantNotes: []string{"Inference runs a SageMaker job"}},
		{name: "failed before Initialize's Lambda", h: defaultsFailed, wantFailed: workflows.StepInitialize, wantFrom: workflows.StepInitialize, wantEvent: firstTask},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planRedrive(runID, tc.h.events, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			if p.failed != tc.wantFailed || p.from != tc.wantFrom || p.eventID != tc.wantEvent || p.childID != tc.wantChild {
				t.Errorf("failed %q from %q event %d child %q, want %q %q %d %q", p.failed, p.from, p.eventID, p.childID, tc.wantFailed, tc.wantFrom, tc.wantEvent, tc.wantChild)
			}
			if len(p.notes) != len(tc.wantNotes) {
				t.Errorf("notes %q, want %d", p.notes, len(tc.wantNotes))
			}
			for i, n := range tc.wantNotes {
				if i < len(p.notes) && !strings.Contains(p.notes[i], n) {
					t.Errorf("note %q does not contain %q", p.notes[i], n)
				}
			}
			if !strings.HasPrefix(p.outcome, tc.wantOutcome) {
				t.Errorf("outcome %q, want prefix %q", p.outcome, tc.wantOutcome)
			}
			if want := "starter retry from " + tc.wantFrom + ": " + p.outcome; p.defaultReason() != want {
				t.Errorf("reason %q, want %q", p.defaultReason(), want)
			}
		})
	}
}

func TestPlanRedriveRefuses(t *testing.T) {
	mon, _ := monitorFailed()

	completed := newHistory(workflows.TrainingWorkflow, "")
	completed.step("InitializeTraining", ok)
	completed.task()
	completed.end(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, "")

	running := newHistory(workflows.TrainingWorkflow, "")
	running.step("InitializeTraining", ok)
	running.step("TrainModel", open)

	invalid := newHistory(workflows.BatchInferenceWorkflow, "")
	invalid.fail(activities.ErrInvalidInput, "Initialize: invalid request: threshold 2 must be a number in [0, 1]")

	invalidByLambda := newHistory(workflows.TrainingWorkflow, "")
	invalidByLambda.step("InitializeTraining", failed)
	invalidByLambda.fail(activities.ErrInvalidInput, "Initialize: invalid request")

	foreign := newHistory(workflows.TrainingWorkflow, "")
	foreign.step("SomethingElse", failed)
	foreign.fail("X", "x")

	// A local activity marker whose data does not decode names no activity.
	unreadable := newHistory(workflows.TrainingWorkflow, "")
	unreadable.task()
	unreadable.marker("LocalActivity", map[string]*commonpb.Payloads{"data": {Payloads: []*commonpb.Payload{{Data: []byte("{")}}}})
	unreadable.fail("X", "x")

	other := newHistory("OrderFulfillment", "")
	other.fail("X", "x")

	noTask := newHistory(workflows.TrainingWorkflow, "")
	noTask.end(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, "")

	for _, tc := range []struct {
		name  string
		h     *history
		from  string
		want  string
		usage bool
	}{
		{name: "completed", h: completed, want: "completed: nothing to retry; to run it again, start a new run"},
		{name: "still open", h: running, want: "is still open: nothing to retry yet; wait for it to end (`starter watch " + runID + "`) or cancel it first"},
		{name: "failed validation", h: invalid, want: "failed validation at Initialize (Failed: Initialize: invalid request: threshold 2"},
		{name: "failed validation in the Lambda", h: invalidByLambda, want: "nothing to redo; fix the request and start a new run"},
		{name: "--from after the failed step", h: mon, from: "Re-train Model", usage: true,
			want: `--from "Re-train Model" comes after the step where ` + runID + ` stopped (Monitor Model Performance): the new run can only start at or before it; give one of "Initialize", "Find Model", "Inference", "Monitor Model Performance"`},
		{name: "--from an unknown step", h: mon, from: "Score", usage: true,
			want: `--from "Score" is not a step of BatchInference that retry can start from: give one of "Initialize", "Find Model", "Inference", "Monitor Model Performance", "Is Re-training Needed?", "Re-train Model"`},
		{name: "--from an ambiguous prefix", h: mon, from: "in", usage: true, want: `--from "in" is not a step of BatchInference`},
		{name: "--from the decision, after the failed Monitor", h: mon, from: workflows.StepDecide, usage: true, want: `--from "Is Re-training Needed?" comes after the step where`},
		{name: "--from the decision, which did no work (no retrain guard)", h: retrainFailedUnguarded(), from: "is re", usage: true,
			want: `--from "Is Re-training Needed?" did no work of its own in this run of ` + runID + `: give the step before it, "Monitor Model Performance"`},
		{name: "--from a step of the other workflow", h: mon, from: workflows.StepTrainModel, usage: true, want: `--from "Train Model" is not a step of BatchInference`},
		{name: "another version's activity", h: foreign, want: `has an activity "SomethingElse" that no step of Training runs`},
		{name: "an unreadable local activity marker", h: unreadable, want: `has an activity "" that no step of Training runs`},
		{name: "not an mdlc workflow", h: other, want: `is a "OrderFulfillment" run, not an mdlc pipeline run`},
		{name: "ended before its first workflow task", h: noTask, want: "ended before its first workflow task completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planRedrive(runID, tc.h.events, tc.from)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var usage *UsageError
			if errors.As(err, &usage) != tc.usage {
				t.Errorf("usage error %v, want %v (%v)", !tc.usage, tc.usage, err)
			}
		})
	}
}
