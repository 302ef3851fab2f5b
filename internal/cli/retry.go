package cli

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/workflows"
)

// maxReasonFailureBytes bounds how much of the run's failure message the default reset reason quotes.
const maxReasonFailureBytes = 160

func retryCommand() *command {
	return &command{
		name:       "retry",
		args:       "WORKFLOW_ID [--from STEP] [--reason TEXT] [flags]",
		positional: "WORKFLOW_ID",
		summary:    "redrive a failed run from the step that failed, keeping the steps before it",
		help: `Restarts the latest run of a workflow ID that failed, timed out, was terminated or canceled, from the step that
failed (or was running when it ended), keeping the results of the steps before it: a Temporal reset of the run
to the workflow task that began that step, with the reason recorded in the new run's history. The new run
is then followed live as with --wait, and the command exits as train --wait and infer --wait do (3 when the
new run fails).

--from STEP starts from an earlier step instead (case-insensitive; a unique prefix is enough), e.g. Inference
after replacing the holdout data. A step that runs a SageMaker job (Train Model, Inference) is done again from
Initialize: SageMaker job names are unique forever, so the job needs a new name, which Initialize gives it
(Initialize and Find Model only read and write small things). So in batch inference a failed Monitor Model
Performance is redone alone and the transform job is kept, while --from Find Model or Inference (once
Inference had begun) redoes Initialize, Find Model and Inference with a new transform job.

A batch-inference run whose Re-train Model step failed is retried from that step: it starts a new run of the
retrain child (same workflow ID retrain-<model>), which trains from the beginning. Retrying the child's workflow
ID instead redrives the child alone (keeping its training job when a later step failed); its batch-inference
run stays failed.

It refuses a run that completed (nothing to retry: start a new run), one still open (cancel it or wait), and
one that failed validation (fix the request and start a new run).`,
		examples: []string{
			"starter retry batch-inference-churn-2019-11-01",
			"starter retry batch-inference-churn-2019-11-01 --from Inference --reason 'holdout data replaced'",
			"starter retry training-churn-2019-10-01 -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			from := fs.String("from", "", "`STEP` to start from, at or before the failed step (default: the failed step)")
			reason := fs.String("reason", "", "`TEXT` recorded as the reset's reason (default: \"starter retry from <step>: <failure>\")")
			logs := addLogsFlags(fs, e)
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, args []string) error {
				id := args[0]
				return retry(ctx, e, c, tf, out, logs, id, *from, *reason)
			}, logs.validate)
		},
	}
}

// retried is what retry prints before following the new run: the run it reset and the run the reset made.
type retried struct {
	WorkflowID string
	Workflow   string
	// BaseRunID is the run that was reset; RunID the new run.
	BaseRunID string
	RunID     string
	// FailedStep is the step that failed (or was running when the run ended); From the first step the new run
	// does again.
	FailedStep string
	From       string
	// ResetEventID is the WorkflowTaskCompleted event of the base run the new run was reset to.
	ResetEventID int64
	Reason       string
	// Notes say why From differs from the step asked for, and what happens to a retrain child or parent.
	Notes []string `json:",omitempty"`
	URL   string
}

func retry(ctx context.Context, e *env, c client.Client, tf *temporalFlags, out *outputFlag, logs *logsFlags, id, from, reason string) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return explainTemporal(err, tf, id)
	}
	baseRunID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return errStillOpen(id)
	}
	events, err := readHistory(ctx, c, id, baseRunID)
	if err != nil {
		return explainTemporal(err, tf, id)
	}
	plan, err := planRedrive(id, events, from)
	if err != nil {
		return err
	}
	if plan.childID != "" {
		child, err := c.DescribeWorkflowExecution(ctx, plan.childID, "")
		if err == nil && child.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("the retrain run %s of %s is still open, and the retried run would start it again under the same workflow ID: "+
				"wait for it to end (`starter watch %s`) or cancel it (`starter cancel %s`), then retry", plan.childID, id, plan.childID, plan.childID)
		}
		if err != nil && !isNotFound(err) {
			return explainTemporal(err, tf, plan.childID)
		}
	}
	if reason == "" {
		reason = plan.defaultReason()
	}
	resp, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 tf.namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id, RunId: baseRunID},
		Reason:                    reason,
		WorkflowTaskFinishEventId: plan.eventID,
		RequestId:                 requestID(),
		Identity:                  identity(),
	})
	if err != nil {
		return explainTemporal(fmt.Errorf("reset %s (run %s) to event %d: %w", id, baseRunID, plan.eventID, err), tf, id)
	}
	r := retried{
		WorkflowID: id, Workflow: plan.workflow, BaseRunID: baseRunID, RunID: resp.GetRunId(),
		FailedStep: plan.failed, From: plan.from, ResetEventID: plan.eventID, Reason: reason, Notes: plan.notes,
		URL: tf.runURL(id, resp.GetRunId()),
	}
	live := out.live(e)
	fmt.Fprint(live, formatRetried(r))
	lp, err := logs.printer(ctx, e, live)
	if err != nil {
		return err
	}
	sum, err := follow(ctx, c, tf, live, e.stderr, id, r.RunID, lp)
	if err != nil {
		return err
	}
	return reportSummary(e, out, sum, false)
}

func errStillOpen(id string) error {
	return fmt.Errorf("%s is still open: nothing to retry yet; wait for it to end (`starter watch %s`) or cancel it first (`starter cancel %s`)", id, id, id)
}

// readHistory returns all events of a run.
func readHistory(ctx context.Context, c client.Client, id, runID string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	iter := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("read the history of %s (run %s): %w", id, runID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// formatRetried says which run retry reset and to where.
func formatRetried(r retried) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Retrying %s run from %s (failed step: %s)\n", r.Workflow, r.From, r.FailedStep)
	field(&b, "workflow ID", r.WorkflowID)
	field(&b, "reset run ID", fmt.Sprintf("%s (to event %d)", r.BaseRunID, r.ResetEventID))
	field(&b, "new run ID", r.RunID)
	field(&b, "reason", r.Reason)
	field(&b, "web UI", r.URL)
	for _, n := range r.Notes {
		field(&b, "note", n)
	}
	return b.String()
}

// redrive is where retry resets a run to.
type redrive struct {
	workflow string // the run's workflow type
	// failed is the step that failed, timed out or was canceled, or that was running when the run ended.
	failed string
	// from is the first step the new run does again.
	from string
	// eventID is the WorkflowTaskCompleted event the run is reset to: the workflow task that began from.
	eventID int64
	// outcome is how the run ended, in a line: "Failed: Monitor Model Performance: ...".
	outcome string
	notes   []string
	// childID is the retrain child's workflow ID when the new run starts it again.
	childID string
}

func (p redrive) defaultReason() string {
	return fmt.Sprintf("starter retry from %s: %s", p.from, p.outcome)
}

// stepRun is a step's work as a run's history shows it.
type stepRun struct {
	index int // in workflows.StepWorkOf(workflow)
	// taskID is the WorkflowTaskCompleted event before the step's ActivityTaskScheduled,
	// StartChildWorkflowExecutionInitiated or local activity marker event: the workflow task that began the
	// step (a local activity runs in the workflow task whose completion records its marker).
	taskID  int64
	childID string
}

// planRedrive reads the history of a closed run of workflow id and decides where retry resets it: the step
// that failed, or from (a step name, case-insensitive or a unique prefix) when given. See retryCommand's help
// for the rules; errors say why the run cannot be retried.
func planRedrive(id string, events []*historypb.HistoryEvent, from string) (redrive, error) {
	var (
		p                     redrive
		steps                 []workflows.StepWork
		runs                  []*stepRun
		firstTask, lastTask   int64
		closed                bool
		failureType, parentID string
		status                string
	)
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := ev.GetWorkflowExecutionStartedEventAttributes()
			p.workflow = a.GetWorkflowType().GetName()
			parentID = a.GetParentWorkflowExecution().GetWorkflowId()
			if steps = workflows.StepWorkOf(p.workflow); steps == nil {
				return p, fmt.Errorf("%s is a %s run, not an mdlc pipeline run (%s or %s): retry does not know its steps",
					id, quote.Value(p.workflow), workflows.TrainingWorkflow, workflows.BatchInferenceWorkflow)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if firstTask == 0 {
				firstTask = ev.GetEventId()
			}
			lastTask = ev.GetEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_MARKER_RECORDED:
			typ, ok := workflows.ActivityOf(ev)
			if !ok || slices.Contains(workflows.RunWork, typ) {
				continue // another marker (a version), or the worker's defaults: no step's work
			}
			if slices.Contains(workflows.CloseWork, typ) {
				continue // sent as the run ended, after its steps: the new run sends its own
			}
			i := stepIndex(steps, func(s workflows.StepWork) bool { return s.Does(typ) })
			if i < 0 {
				return p, fmt.Errorf("the history of %s has an activity %s that no step of %s runs: it was made by another version of mdlc; start a new run",
					id, quote.Value(typ), p.workflow)
			}
			r := &stepRun{index: i, taskID: lastTask}
			runs = append(runs, r)
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes()
			typ := a.GetWorkflowType().GetName()
			i := stepIndex(steps, func(s workflows.StepWork) bool { return s.ChildWorkflowType == typ })
			if i < 0 {
				return p, fmt.Errorf("the history of %s has a child workflow %s that no step of %s starts: it was made by another version of mdlc; start a new run",
					id, quote.Value(typ), p.workflow)
			}
			r := &stepRun{index: i, taskID: lastTask, childID: a.GetWorkflowId()}
			runs = append(runs, r)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			return p, fmt.Errorf("%s completed: nothing to retry; to run it again, start a new run (`starter train` or `starter infer` with its model and date)", id)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			return p, fmt.Errorf("this run of %s continued as new: retry its latest run", id)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
			f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
			failureType = f.GetApplicationFailureInfo().GetType()
			closed, status = true, "Failed: "+quote.Prefix(f.GetMessage(), maxReasonFailureBytes)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
			closed, status = true, "TimedOut"
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
			closed, status = true, "Canceled"
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
			closed, status = true, "Terminated"
			if r := ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason(); r != "" {
				status += ": " + quote.Prefix(r, maxReasonFailureBytes)
			}
		}
	}
	if steps == nil {
		return p, fmt.Errorf("the history of %s does not begin with its start", id)
	}
	if !closed {
		return p, errStillOpen(id)
	}
	p.outcome = status

	// The failed step is the last one begun: steps run one after the other, so the ones before it completed.
	// A run that ended before any step began (a failure while it prepared Initialize) failed at Initialize.
	failed := &stepRun{index: 0, taskID: firstTask}
	if len(runs) > 0 {
		failed = runs[len(runs)-1]
	}
	p.failed = steps[failed.index].Step
	if failed.index == 0 && failureType == activities.ErrInvalidInput {
		return p, fmt.Errorf("%s failed validation at %s (%s): nothing to redo; fix the request and start a new run", id, p.failed, status)
	}

	start := failed.index
	if from != "" {
		i, err := resolveStep(steps, p.workflow, from)
		if err != nil {
			return p, err
		}
		if i > failed.index {
			return p, usagef("--from %q comes after the step where %s stopped (%s): the new run can only start at or before it; give one of %s",
				steps[i].Step, id, p.failed, stepList(steps[:failed.index+1]))
		}
		start = i
	}
	// A job step begun in this run left a job whose name the new run cannot reuse; Initialize names a new one.
	for _, r := range runs {
		if r.index >= start && steps[r.index].NamedJob && start > 0 {
			p.notes = append(p.notes, fmt.Sprintf("%s runs a SageMaker job, and job names are unique forever: starting from Initialize, which names a new job", steps[r.index].Step))
			start = 0
			break
		}
	}
	p.from = steps[start].Step
	// Initialize begins with the run's first workflow task (its search attributes and defaults come before
	// its Lambda call); any other step with the workflow task that scheduled it.
	p.eventID = firstTask
	begun := start == 0
	for _, r := range runs {
		if r.index == start && start > 0 {
			p.eventID, begun = r.taskID, true
			break
		}
	}
	if !begun {
		// Only a step whose work is optional (Is Re-training Needed? without a retrain guard) can be missing.
		return p, usagef("--from %q did no work of its own in this run of %s: give the step before it, %q", p.from, id, steps[start-1].Step)
	}
	if p.eventID == 0 {
		return p, fmt.Errorf("%s ended before its first workflow task completed: there is no point to reset it to; start a new run", id)
	}
	for _, r := range runs {
		if r.index >= start && r.childID != "" {
			p.childID = r.childID
			p.notes = append(p.notes, fmt.Sprintf("the new run starts the retrain child %s again: a new run of it, which trains from the beginning", r.childID))
		}
	}
	if parentID != "" {
		p.notes = append(p.notes, fmt.Sprintf("this is the retrain run of %s, which stays as it ended: `starter retry %s` instead retrains in a new child run and completes it", parentID, parentID))
	}
	return p, nil
}

func stepIndex(steps []workflows.StepWork, match func(workflows.StepWork) bool) int {
	for i, s := range steps {
		if match(s) {
			return i
		}
	}
	return -1
}

// resolveStep finds the step named name: its full name, case-insensitive, or a prefix of exactly one. A step
// with several activities (Evaluate Re-trained Model: a transform, then the monitor) starts at its first.
func resolveStep(steps []workflows.StepWork, workflow, name string) (int, error) {
	want := strings.ToLower(strings.TrimSpace(name))
	var prefixed []int
	for i, s := range steps {
		if i > 0 && steps[i-1].Step == s.Step {
			continue
		}
		step := strings.ToLower(s.Step)
		if step == want {
			return i, nil
		}
		if want != "" && strings.HasPrefix(step, want) {
			prefixed = append(prefixed, i)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	return 0, usagef("--from %s is not a step of %s that retry can start from: give one of %s", quote.Value(name), workflow, stepList(steps))
}

func stepList(steps []workflows.StepWork) string {
	var names []string
	for i, s := range steps {
		if i == 0 || steps[i-1].Step != s.Step {
			names = append(names, strconv.Quote(s.Step))
		}
	}
	return strings.Join(names, ", ")
}
