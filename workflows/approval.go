package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/quote"
)

// A person's decision on a version registered PendingManualApproval.
//
// When Register Model registered the version PendingManualApproval (the request's ApprovalStatus, or the
// worker's --approval-status), the Training run does not end: its Wait for Approval step waits, for at most
// the worker's --approval-timeout, for the decision. The decision can come two ways, and whichever comes
// first ends the wait:
//
//   - through the run: the ApprovalUpdate Update (sent by `starter approve/reject` when a run waits for the
//     version). Its validator refuses a wrong version, a version already decided, a status other than
//     Approved or Rejected and a rejection without a reason — a refused Update leaves no trace in the
//     history. Its handler records the decision in the registry (the DecideApproval activity:
//     UpdateModelPackage, with an ApprovalDescription that says who, when and why) and answers with the
//     ApprovalOutcome.
//   - straight in the registry (the SageMaker console, `aws sagemaker update-model-package`): the
//     WaitForApproval activity, one long heartbeating activity that describes the package inside the
//     activity, returns the registry's decision. The wait costs the history a handful of events however long
//     it lasts.
//
// At the approval timeout the version stays PendingManualApproval (nobody decided; a later decision in the
// registry still counts for batch inference) and the run completes with ApprovalNoDecision. Cancelling the
// run cancels the wait and leaves the version PendingManualApproval. With champion/challenger evaluation, a
// challenger that lost is registered Rejected and never waits: only a version registered
// PendingManualApproval does.

// ApprovalUpdate is the name of the Update a Training run that waits for a decision accepts, with an
// ApprovalRequest; it answers with the ApprovalOutcome.
const ApprovalUpdate = "approval"

// StepWaitApproval is the step of a Training run that waits for a person's decision on the version it
// registered PendingManualApproval. Runs that register Approved versions do not have it.
const StepWaitApproval = "Wait for Approval"

// How a run's wait for a decision ended (ApprovalOutcome.Via).
const (
	// ApprovalViaRun: the decision arrived as the run's ApprovalUpdate, and the run recorded it.
	ApprovalViaRun = "run update"
	// ApprovalViaRegistry: someone decided straight in the registry, and the run saw it.
	ApprovalViaRegistry = "registry"
	// ApprovalViaTimeout: nobody decided within the approval timeout.
	ApprovalViaTimeout = "timeout"
)

// ApprovalNoDecision is ApprovalOutcome.Decision when the approval timeout passed without a decision.
const ApprovalNoDecision = "NoDecision"

// approvalWaitChange versions the wait for a decision: runs recorded before it ended right after registering
// a Pending version.
const approvalWaitChange = "approval-wait"

// ApprovalRequest is a person's decision on the version a run waits for: the argument of ApprovalUpdate.
type ApprovalRequest struct {
	// ModelPackageVersion is the version decided on; the run refuses any other than the one it registered.
	ModelPackageVersion int32
	// Status is Approved or Rejected.
	Status string
	// Reason is why (required for a rejection); By who decides.
	Reason string `json:",omitempty"`
	By     string
}

// ApprovalOutcome is how a run's wait for a decision ended.
type ApprovalOutcome struct {
	// Decision is Approved, Rejected, or ApprovalNoDecision.
	Decision string
	// Via says how: ApprovalViaRun, ApprovalViaRegistry or ApprovalViaTimeout.
	Via string
	// By, Reason and At are who decided, why and when: from the Update for ApprovalViaRun; for
	// ApprovalViaRegistry By is the registry's LastModifiedBy when it says (a Studio user), and At its
	// LastModifiedTime (when the run saw the decision, if the registry does not say).
	By     string    `json:",omitempty"`
	Reason string    `json:",omitempty"`
	At     time.Time `json:",omitempty"`
	// Description is the version's ApprovalDescription as the registry records it.
	Description string `json:",omitempty"`
	// WaitedSince is when the wait began.
	WaitedSince time.Time
}

// String renders the outcome in one line, as the progress and the starter show it.
func (o ApprovalOutcome) String() string {
	if o.Decision == ApprovalNoDecision {
		return fmt.Sprintf("no decision by %s: the version stays %s", o.At.UTC().Format(time.RFC3339), smtypes.ModelApprovalStatusPendingManualApproval)
	}
	s := o.Decision
	if o.By != "" {
		s += " by " + o.By
	}
	if !o.At.IsZero() {
		s += " at " + o.At.UTC().Format(time.RFC3339)
	}
	s += " (" + o.Via + ")"
	if o.Reason != "" {
		s += ": " + o.Reason
	} else if o.Via == ApprovalViaRegistry && o.Description != "" {
		s += ": " + o.Description
	}
	return s
}

// ApprovalWait is, in a run's Progress, the version the run waits for (or waited for) a decision on.
type ApprovalWait struct {
	ModelName           string
	ModelPackageArn     string
	ModelPackageVersion int32
	// Waiting is true while the run accepts a decision; Deadline is when it stops waiting.
	Waiting  bool
	Deadline time.Time
	// Outcome is how the wait ended, once it has.
	Outcome *ApprovalOutcome `json:",omitempty"`
}

// approval is the state of a run's wait for a decision, shared by the wait and the Update's handlers.
type approval struct {
	t    *tracker
	wait ApprovalWait
	// applying is true while the Update's handler records a decision in the registry.
	applying bool
	// decided receives once the Update's handler recorded its decision.
	decided workflow.Channel
}

// awaitApproval is the Wait for Approval step for the version pkg registered PendingManualApproval: see the
// comment at the top of this file. It returns how the wait ended; its error (a failed wait, the run's
// cancellation) fails the step.
func (w *training) awaitApproval(ctx workflow.Context, pkg activities.RegisterModelOutput) (ApprovalOutcome, error) {
	return runOwnStep(ctx, w.t, StepWaitApproval, pkg.ModelPackageArn, func(ctx workflow.Context) (ApprovalOutcome, error) {
		return w.wait(ctx, pkg)
	}, ApprovalOutcome.String)
}

func (w *training) wait(ctx workflow.Context, pkg activities.RegisterModelOutput) (ApprovalOutcome, error) {
	t, model, version := w.t, w.in.ModelName, pkg.ModelPackageVersion
	def, err := w.def.get(ctx)
	if err != nil {
		return ApprovalOutcome{}, err
	}
	timeout := def.ApprovalTimeout
	if timeout <= 0 {
		timeout = activities.DefaultApprovalTimeout
	}
	start := workflow.Now(ctx)
	ap := &approval{
		t: t,
		wait: ApprovalWait{ModelName: model, ModelPackageArn: pkg.ModelPackageArn, ModelPackageVersion: version,
			Waiting: true, Deadline: start.Add(timeout)},
		decided: workflow.NewBufferedChannel(ctx, 1),
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ApprovalUpdate,
		func(ctx workflow.Context, req ApprovalRequest) (ApprovalOutcome, error) {
			return ap.apply(ctx, req, start)
		},
		workflow.UpdateHandlerOptions{Validator: ap.validate}); err != nil {
		return ApprovalOutcome{}, fmt.Errorf("set approval update handler: %w", err)
	}
	t.p.Approval = &ap.wait
	t.note(ctx, StepWaitApproval, fmt.Sprintf("version %d of %s is %s: waiting until %s for `starter approve %s %d` or `starter reject %s %d --reason …`, or a decision in the registry",
		version, model, smtypes.ModelApprovalStatusPendingManualApproval, ap.wait.Deadline.UTC().Format(time.RFC3339), model, version, model, version))
	if err := w.setApprovalAttribute(ctx, string(smtypes.ModelApprovalStatusPendingManualApproval)); err != nil {
		return ApprovalOutcome{}, err
	}

	opts := approvalWaitOptions
	opts.StartToCloseTimeout = timeout + approvalWaitSlack
	waitCtx, cancelWait := workflow.WithCancel(ctx)
	wait := executeActivity(waitCtx, opts, fmt.Sprintf("Wait for Approval: version %d of %s", version, model),
		a.WaitForApproval, activities.WaitForApprovalInput{ModelPackageArn: pkg.ModelPackageArn})
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.NewTimer(timerCtx, timeout)

	var (
		registry         activities.ApprovalState
		waitErr          error
		waitDone, timeUp bool
	)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(wait, func(f workflow.Future) { waitDone, waitErr = true, f.Get(ctx, &registry) })
	sel.AddFuture(timer, func(f workflow.Future) { timeUp = f.Get(ctx, nil) == nil })
	sel.AddReceive(ap.decided, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.Select(ctx)
	cancelTimer()
	if ctx.Err() != nil { // the run was cancelled: the version stays Pending
		ap.wait.Waiting = false
		cancelWait()
		if !waitDone {
			if err := wait.Get(ctx, nil); err != nil && !temporal.IsCanceledError(err) {
				workflow.GetLogger(ctx).Warn("Approval wait ended with an error as the run was cancelled", "Error", err)
			}
		}
		return ApprovalOutcome{}, temporal.NewCanceledError()
	}
	if waitDone && waitErr != nil {
		ap.wait.Waiting = false
		return ApprovalOutcome{}, waitErr
	}
	// A decision being recorded by the Update's handler finishes first: its outcome is the run's (the wait
	// may have returned because that very decision reached the registry).
	if err := workflow.Await(ctx, func() bool { return !ap.applying }); err != nil {
		return ApprovalOutcome{}, err
	}
	ap.wait.Waiting = false
	if !waitDone {
		cancelWait()
		// The wait ends canceled, or with a decision it saw just before: the registry's, when no other ended
		// the wait.
		if err := wait.Get(ctx, &registry); err == nil && ap.wait.Outcome == nil {
			waitDone = true
		} else if err != nil && !temporal.IsCanceledError(err) {
			workflow.GetLogger(ctx).Warn("Approval wait ended with an error after the wait was over", "Error", err)
		}
	}
	switch {
	case ap.wait.Outcome != nil:
	case waitDone:
		at := registry.ModifiedAt
		if at.IsZero() {
			at = workflow.Now(ctx)
		}
		ap.wait.Outcome = &ApprovalOutcome{Decision: registry.Status, Via: ApprovalViaRegistry, By: registry.ModifiedBy, At: at,
			Description: registry.Description, WaitedSince: start}
	case timeUp:
		ap.wait.Outcome = &ApprovalOutcome{Decision: ApprovalNoDecision, Via: ApprovalViaTimeout, At: workflow.Now(ctx), WaitedSince: start}
	default:
		return ApprovalOutcome{}, errors.New("the wait for a decision ended without one")
	}
	out := *ap.wait.Outcome
	status := out.Decision
	if status == ApprovalNoDecision {
		status = string(smtypes.ModelApprovalStatusPendingManualApproval)
	}
	if err := w.setApprovalAttribute(ctx, status); err != nil {
		return ApprovalOutcome{}, err
	}
	workflow.GetLogger(ctx).Info("Approval wait over", "ModelPackageArn", pkg.ModelPackageArn, "Decision", out.Decision, "Via", out.Via)
	return out, nil
}

// validate refuses an ApprovalRequest the run cannot take, with a message that says why and what to do.
// It changes nothing: a refused Update leaves no history events.
func (ap *approval) validate(req ApprovalRequest) error {
	w := ap.wait
	switch {
	case w.Outcome != nil && w.Outcome.Decision == ApprovalNoDecision:
		return fmt.Errorf("the run stopped waiting at its approval timeout (%s): version %d of %s stays %s; decide in the registry (`starter approve` and `starter reject` do when no run waits)",
			w.Outcome.At.UTC().Format(time.RFC3339), w.ModelPackageVersion, w.ModelName, smtypes.ModelApprovalStatusPendingManualApproval)
	case w.Outcome != nil:
		return fmt.Errorf("version %d of %s was already decided: %s", w.ModelPackageVersion, w.ModelName, w.Outcome)
	case ap.applying:
		return fmt.Errorf("a decision on version %d of %s is being recorded; see `starter status` for it", w.ModelPackageVersion, w.ModelName)
	case !w.Waiting:
		return fmt.Errorf("the run no longer waits for a decision on version %d of %s", w.ModelPackageVersion, w.ModelName)
	case req.ModelPackageVersion != w.ModelPackageVersion:
		return fmt.Errorf("the run waits for a decision on version %d of %s, not version %d", w.ModelPackageVersion, w.ModelName, req.ModelPackageVersion)
	case req.Status != string(smtypes.ModelApprovalStatusApproved) && req.Status != string(smtypes.ModelApprovalStatusRejected):
		return fmt.Errorf("status %s must be %s or %s", quote.Value(req.Status), smtypes.ModelApprovalStatusApproved, smtypes.ModelApprovalStatusRejected)
	case req.Status == string(smtypes.ModelApprovalStatusRejected) && strings.TrimSpace(req.Reason) == "":
		return errors.New("a rejection needs a reason: say why the version must not be used")
	case strings.TrimSpace(req.By) == "":
		return errors.New("the decision must name who decides (By)")
	}
	if n := len(activities.ApprovalDescription(req.Status, req.By, time.Time{}, req.Reason)); n > activities.MaxApprovalDescription {
		return fmt.Errorf("the reason and By make an ApprovalDescription of %d bytes; SageMaker keeps at most %d: shorten the reason", n, activities.MaxApprovalDescription)
	}
	return nil
}

// apply records an accepted decision in the registry (the DecideApproval activity) and ends the wait with it.
// A decision the registry refuses (someone decided there first) is the Update's error, and the wait ends with
// the registry's decision instead.
func (ap *approval) apply(ctx workflow.Context, req ApprovalRequest, since time.Time) (ApprovalOutcome, error) {
	ap.applying = true
	defer func() { ap.applying = false }()
	at := workflow.Now(ctx)
	by, reason := strings.TrimSpace(req.By), strings.TrimSpace(req.Reason)
	in := activities.DecideApprovalInput{ModelPackageArn: ap.wait.ModelPackageArn, Status: req.Status,
		Description: activities.ApprovalDescription(req.Status, by, at, reason)}
	var st activities.ApprovalState
	if err := executeStep(ctx, ap.t, step{local: &apiOptions, summary: fmt.Sprintf("Wait for Approval: %s by %s", req.Status, by)},
		a.DecideApproval, in).Get(ctx, &st); err != nil {
		return ApprovalOutcome{}, err
	}
	ap.wait.Outcome = &ApprovalOutcome{Decision: st.Status, Via: ApprovalViaRun, By: by, Reason: reason, At: at, Description: st.Description, WaitedSince: since}
	ap.decided.SendAsync(true)
	return *ap.wait.Outcome, nil
}

// setApprovalAttribute sets the run's ApprovalStatus search attribute to status (when the namespace has it),
// so that `starter list` shows the runs that wait for a decision: PendingManualApproval while the run waits,
// then the decision (still PendingManualApproval after a timeout: the registry's status).
func (w *training) setApprovalAttribute(ctx workflow.Context, status string) error {
	return setAttributes(ctx, &w.def, keywordAttr(ApprovalStatusAttribute, status))
}
