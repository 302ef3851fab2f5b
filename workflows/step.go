package workflows

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// step is one step of a run that executes an activity: its name in the progress, the job it runs once known
// (shown beside the step), the activity's options and the summary the web UI shows for the activity. A step
// that waits on a SageMaker job has opts (an activity task); a short Lambda or API call has local instead
// (a local activity, see localStepsChange).
type step struct {
	name, job string
	opts      workflow.ActivityOptions
	local     *workflow.LocalActivityOptions
	summary   string
}

// runActivityStep runs one activity step: it marks the step running, executes fn with the step's options
// and input in, and marks the step done with detail(out) or records its failure (see tracker.fail), whose
// error the run then fails with.
func runActivityStep[In, Out any](ctx workflow.Context, t *tracker, s step, fn func(context.Context, In) (Out, error), in In, detail func(Out) string) (Out, error) {
	return runStep(ctx, t, s.name, s.job, func(ctx workflow.Context) workflow.Future {
		return executeStep(ctx, t, s, fn, in)
	}, detail, nil)
}

// executeStep starts fn with in as step s says: an activity task with s.opts, or for a short step (s.local)
// a local activity — an activity task with the same timeout and retries in a run recorded before
// localStepsChange.
func executeStep[In, Out any](ctx workflow.Context, t *tracker, s step, fn func(context.Context, In) (Out, error), in In) workflow.Future {
	switch {
	case s.local == nil:
		return workflow.ExecuteActivity(withActivityOptions(ctx, s.opts, s.summary), fn, in)
	case !t.localSteps:
		return workflow.ExecuteActivity(withActivityOptions(ctx, asActivity(*s.local), s.summary), fn, in)
	}
	o := *s.local
	o.Summary = s.summary
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, o), fn, in)
}

// runExclusiveChildStep runs one step that is a child workflow run of fn, started with opts; the step's job
// is the child's workflow ID. The ID is shared by other runs' children (one retrain per model): when a run of
// that ID is still open, the child cannot start, and that is not the step's failure. The step is then left to the caller (running = true, with the start's error) to record as
// it sees fit.
func runExclusiveChildStep[In, Out any](ctx workflow.Context, t *tracker, name string, opts workflow.ChildWorkflowOptions, fn func(workflow.Context, In) (Out, error), in In, detail func(Out) string) (out Out, running bool, err error) {
	out, err = runStep(ctx, t, name, opts.WorkflowID, func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), fn, in)
	}, detail, isAlreadyStarted)
	return out, err != nil && isAlreadyStarted(err), err
}

// isAlreadyStarted reports whether err says a child could not start because a run of its workflow ID is
// open: the server's answer (ChildWorkflowExecutionAlreadyStartedError, the cause of the child's error) or the
// SDK test environment's (WorkflowExecutionAlreadyStarted).
func isAlreadyStarted(err error) bool {
	var child *temporal.ChildWorkflowExecutionAlreadyStartedError
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &child) || errors.As(err, &started)
}

// runStep runs one step of a run whose work execute starts (an activity or a child workflow): start, wait,
// record the failure naming the step or mark it done with detail(out). An error for which passOn (when
// given) is true is returned as it is, the step left running for the caller to record.
func runStep[Out any](ctx workflow.Context, t *tracker, name, job string, execute func(workflow.Context) workflow.Future, detail func(Out) string, passOn func(error) bool) (Out, error) {
	t.start(ctx, name, job)
	var out Out
	if err := execute(ctx).Get(ctx, &out); err != nil {
		if passOn != nil && passOn(err) {
			return out, err
		}
		return out, t.fail(ctx, name, err)
	}
	t.done(ctx, name, detail(out))
	return out, nil
}

// runOwnStep runs one step whose work do orchestrates itself — it races activities it starts with
// executeActivity against Updates and timers (Wait for Approval) — with the same start, failure and end
// records as runStep.
func runOwnStep[Out any](ctx workflow.Context, t *tracker, name, job string, do func(workflow.Context) (Out, error), detail func(Out) string) (Out, error) {
	t.start(ctx, name, job)
	out, err := do(ctx)
	if err != nil {
		return out, t.fail(ctx, name, err)
	}
	t.done(ctx, name, detail(out))
	return out, nil
}

// executeActivity starts the activity fn with opts (the web UI showing summary) for the work of a runOwnStep
// step or of an Update's handler.
func executeActivity[In, Out any](ctx workflow.Context, opts workflow.ActivityOptions, summary string, fn func(context.Context, In) (Out, error), in In) workflow.Future {
	return workflow.ExecuteActivity(withActivityOptions(ctx, opts, summary), fn, in)
}

// executeNotify runs the Notify activity for n with notifyOptions and waits for it. It is not a step: the
// progress does not show it, and its error is the caller's to log, never the run's.
func executeNotify(ctx workflow.Context, n activities.Notification) error {
	return workflow.ExecuteActivity(withActivityOptions(ctx, notifyOptions, "Notify: run "+n.Status), a.Notify,
		activities.NotifyInput{Notification: n}).Get(ctx, nil)
}

// withActivityOptions returns ctx carrying opts, with summary as the activity's summary in the web UI.
func withActivityOptions(ctx workflow.Context, opts workflow.ActivityOptions, summary string) workflow.Context {
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}
