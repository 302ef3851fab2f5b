package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// NotifyClosedWorkflow is the workflow type that sends the notification of a run that ended without running
// workflow code: terminated by a person, or timed out.
const NotifyClosedWorkflow = "NotifyClosed"

// NotifyClosedInput is the notification to send for a run that ended without running workflow code.
type NotifyClosedInput struct {
	Notification activities.Notification
}

// NotifyClosedWorkflowID is the workflow ID of the NotifyClosed run for the run runID: one per run, so that
// the workers that all see the run close start its notification once between them (the server refuses the
// second start).
func NotifyClosedWorkflowID(runID string) string { return "notify-closed-" + runID }

// NotifyClosed sends a terminated or timed-out run's notification (the Notify activity, with the retries of a
// run's own notification). A terminated run cannot notify as it ends, as completed, failed and canceled runs
// do (see notify): the worker's watch (package closewatch) finds it in the visibility store and starts this
// workflow for it. A notification that cannot be delivered is logged and dropped; this run still completes.
func NotifyClosed(ctx workflow.Context, in NotifyClosedInput) error {
	if err := executeNotify(ctx, in.Notification); err != nil {
		workflow.GetLogger(ctx).Warn("Notification not delivered", "WorkflowID", in.Notification.WorkflowID,
			"Status", in.Notification.Status, "Error", err)
	}
	return nil
}
