package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/quote"
)

// notifyChange versions the notification a run sends as it ends: runs recorded before it (and runs replayed
// from such histories) end without it.
const notifyChange = "notify-on-close"

// notify sends the run's notification (the Notify activity) when the worker's defaults say notifications are
// on, and waits for it, as the last thing the run does: after success, after a failure and after a
// cancellation — on a disconnected context, which the run's cancellation does not reach. It never changes
// the run's result: a notification that cannot be delivered within notifyOptions' retries is logged and
// dropped. A terminated or timed-out run runs no workflow code and sends nothing (see README,
// "Notifications").
//
// With notifications off, a run records only the version marker and, when the request left nothing to the
// worker's defaults, the defaults local activity; no activity is scheduled.
func notify(ctx workflow.Context, t *tracker, def *defaults, n activities.Notification, runErr error) {
	if !t.changed(ctx, notifyChange) {
		return
	}
	ctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	logger := workflow.GetLogger(ctx)
	d, err := def.get(ctx)
	if err != nil {
		logger.Warn("Notification not sent: the worker's defaults are unavailable", "Error", err)
		return
	}
	if !d.Notify {
		return
	}
	info := workflow.GetInfo(ctx)
	n.Namespace, n.WorkflowType = info.Namespace, info.WorkflowType.Name
	n.WorkflowID, n.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	if info.ParentWorkflowExecution != nil {
		n.ParentWorkflowID = info.ParentWorkflowExecution.ID
	}
	n.StartTime, n.CloseTime = info.WorkflowStartTime, workflow.Now(ctx)
	n.Status, n.FailedStep, n.Failure = closeStatus(t, runErr)
	if err := executeNotify(ctx, n); err != nil {
		logger.Warn("Notification not delivered; the run's result is unchanged", "Status", n.Status, "Error", err)
	}
}

// closeStatus is how the run ends with runErr, as Temporal will record it (the SDK closes a run canceled when
// its error is a cancellation), the step that failed or was canceled, and the failure message.
func closeStatus(t *tracker, runErr error) (status, step, failure string) {
	if runErr == nil {
		return activities.StatusCompleted, "", ""
	}
	status = activities.StatusFailed
	if temporal.IsCanceledError(runErr) {
		status = activities.StatusCanceled
	} else {
		failure = failureMessage(runErr)
	}
	for _, s := range t.p.Steps {
		if s.State == StepFailed || s.State == StepCanceled || s.State == StepRunning {
			return status, s.Name, failure
		}
	}
	return status, "", failure
}

// failureMessage is the run's failure as the web UI shows its message, cut to activities.MaxFailureBytes.
func failureMessage(err error) string {
	msg := err.Error()
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		msg = app.Message()
	}
	return activities.CutFailure(msg)
}

// requestValue is a request's ModelName or DataDate as a notification carries it: whole when valid, at most
// quote.MaxValueBytes of it otherwise, so that an oversized invalid request (a 1.5 MB model name) cannot make
// the Notify activity's input exceed Temporal's payload size limit.
func requestValue(s string) string { return quote.Prefix(s, quote.MaxValueBytes) }

// trainingNotification is what a Training run reports when it ends with res.
func trainingNotification(in TrainingInput, res TrainingResult) activities.Notification {
	return activities.Notification{
		ModelName: requestValue(in.ModelName), DataDate: requestValue(in.DataDate),
		TrainingJobName: res.TrainingJobName, ModelPackageArn: res.ModelPackageArn, ModelPackageVersion: res.ModelPackageVersion,
	}
}

// batchInferenceNotification is what a BatchInference run reports when it ends with res: the decision and
// AUC once taken, and the retrained version if any, else the version that scored the data.
func batchInferenceNotification(in BatchInferenceInput, res BatchInferenceResult) activities.Notification {
	n := activities.Notification{ModelName: requestValue(in.ModelName), DataDate: requestValue(in.DataDate), ModelPackageArn: res.ModelPackageArn}
	if res.ThresholdSource != "" {
		n.Threshold = &res.Threshold
	}
	if res.Decision != "" {
		n.Decision, n.AUC = res.Decision, &res.AUC
	}
	if res.Retrain != nil {
		n.TrainingJobName, n.ModelPackageArn, n.ModelPackageVersion = res.Retrain.TrainingJobName, res.Retrain.ModelPackageArn, res.Retrain.ModelPackageVersion
	}
	return n
}
