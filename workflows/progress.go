package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Step states.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepCompleted = "completed"
	StepFailed    = "failed"
	StepCanceled  = "canceled"
	StepSkipped   = "skipped"
)

// Step names, as in the original state machines (and the parity package's state names).
const (
	StepInitialize  = "Initialize"
	StepTrainModel  = "Train Model"
	StepCreateModel = "Create Model"
	StepRegister    = "Register Model"
	// StepEvaluate and StepPromote run between Create Model and Register Model when a training run has a
	// champion: the new model's batch transform and monitor on the data date's holdout data, and the
	// comparison with the champion's AUC.
	StepEvaluate  = "Evaluate Re-trained Model"
	StepPromote   = "Is the New Model Better?"
	StepFindModel = "Find Model"
	StepInference = "Inference"
	StepMonitor   = "Monitor Model Performance"
	StepDecide    = "Is Re-training Needed?"
	StepRetrain   = "Re-train Model"
)

// Step is one step of a run as the progress query reports it.
type Step struct {
	Name  string
	State string
	// JobName is the SageMaker job or child workflow the step runs, once known.
	JobName string `json:",omitempty"`
	// Detail is a one-line result or error.
	Detail  string    `json:",omitempty"`
	Started time.Time `json:",omitempty"`
	Ended   time.Time `json:",omitempty"`
}

// Progress is the answer to ProgressQuery: the run's steps in order and, for batch inference, the decision.
type Progress struct {
	Workflow string
	Steps    []Step
	// Decision is DecisionKeep, DecisionRetrain or DecisionRetrainSuppressed once taken.
	Decision string `json:",omitempty"`
	// Approval is, for a training run that registered its version PendingManualApproval, the version it waits
	// (or waited) for a decision on; `starter approve/reject` look for it.
	Approval *ApprovalWait `json:",omitempty"`
	// Promotion is, for a training run with a champion, contract.DecisionPromoted or DecisionRejected once
	// Is the New Model Better? has decided.
	Promotion string `json:",omitempty"`
}

// tracker keeps a run's Progress, answers the query and mirrors it into the run's current details, which the
// web UI shows. It also knows whether the run has localStepsChange.
type tracker struct {
	p Progress
	// localSteps: the run has localStepsChange — its Lambda and API steps run as local activities, and every
	// change versioned before it is on (see changed).
	localSteps bool
}

// localStepsChange versions, with the run's first command, how a run records its steps in its history:
//   - its Lambda and API steps (Initialize, Find Model, Create Model, Monitor, the registry calls) run as local
//     activities, each one marker event in the workflow task that ran it, instead of an activity task's three
//     events and the three of the workflow task that follows; consecutive short steps share one workflow
//     task. The SageMaker jobs and the wait for approval stay activity tasks (they heartbeat for minutes).
//   - every change versioned before it is on without a marker of its own: each GetVersion recorded costs a
//     marker and a TemporalChangeVersion upsert, two events per change per run.
//
// Runs recorded before it replay with their activity tasks and their own markers. A change made after it
// gets its own workflow.GetVersion, as before.
const localStepsChange = "local-steps"

func newTracker(ctx workflow.Context, workflowName string, steps ...string) (*tracker, error) {
	t := &tracker{p: Progress{Workflow: workflowName}}
	t.localSteps = workflow.GetVersion(ctx, localStepsChange, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	for _, s := range steps {
		t.p.Steps = append(t.p.Steps, Step{Name: s, State: StepPending})
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return t.p, nil }); err != nil {
		return nil, fmt.Errorf("set progress query handler: %w", err)
	}
	return t, nil
}

// changed reports whether the run has the change changeID, one of those versioned before localStepsChange
// (workflow.GetVersion with the versions DefaultVersion and 1): always for a run that has localStepsChange,
// otherwise as the run recorded it.
func (t *tracker) changed(ctx workflow.Context, changeID string) bool {
	return t.localSteps || workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

func (t *tracker) step(name string) *Step {
	for i := range t.p.Steps {
		if t.p.Steps[i].Name == name {
			return &t.p.Steps[i]
		}
	}
	t.p.Steps = append(t.p.Steps, Step{Name: name})
	return &t.p.Steps[len(t.p.Steps)-1]
}

func (t *tracker) start(ctx workflow.Context, name, jobName string) {
	s := t.step(name)
	s.State, s.JobName, s.Started = StepRunning, jobName, workflow.Now(ctx)
	t.publish(ctx)
}

func (t *tracker) done(ctx workflow.Context, name, detail string) {
	s := t.step(name)
	s.State, s.Detail, s.Ended = StepCompleted, detail, workflow.Now(ctx)
	t.publish(ctx)
}

// decide records the batch-inference decision (DecisionKeep, DecisionRetrain or DecisionRetrainSuppressed)
// and completes the decision step with detail.
func (t *tracker) decide(ctx workflow.Context, decision, detail string) {
	t.p.Decision = decision
	t.done(ctx, StepDecide, detail)
}

// note sets the detail of a step that is still running (what it waits for).
func (t *tracker) note(ctx workflow.Context, name, detail string) {
	t.step(name).Detail = detail
	t.publish(ctx)
}

// promote records a training run's promotion decision (contract.DecisionPromoted or DecisionRejected) and
// completes Is the New Model Better? with detail.
func (t *tracker) promote(ctx workflow.Context, decision, detail string) {
	t.p.Promotion = decision
	t.done(ctx, StepPromote, detail)
}

func (t *tracker) skip(ctx workflow.Context, name, detail string) {
	s := t.step(name)
	s.State, s.Detail = StepSkipped, detail
	t.publish(ctx)
}

// fail records the step's failure and returns the error the workflow fails with: a non-retryable
// application error that keeps the cause's error type and names the step, or the cancellation as it is.
func (t *tracker) fail(ctx workflow.Context, name string, err error) error {
	s := t.step(name)
	s.Ended = workflow.Now(ctx)
	if !temporal.IsCanceledError(err) && errors.Is(ctx.Err(), workflow.ErrCanceled) && t.changed(ctx, canceledStepChange) {
		// The run was canceled while its step's work failed (e.g. an attempt throttled when the cancellation
		// came, which then is not retried): the person's cancellation is what ends the run, not the failure.
		err = temporal.NewCanceledError(err.Error())
	}
	if temporal.IsCanceledError(err) {
		s.State, s.Detail = StepCanceled, "canceled"
		t.publish(ctx)
		return err
	}
	s.State = StepFailed
	typ := "StepFailed"
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		typ = app.Type()
		s.Detail = app.Message()
	} else {
		s.Detail = err.Error()
	}
	t.publish(ctx)
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %s", name, s.Detail), typ, err)
}

// canceledStepChange versions how a step that fails after the run was canceled is recorded: runs before it
// failed with the step's error.
const canceledStepChange = "canceled-step"

// publish writes the progress as the run's current details (markdown) for the web UI.
func (t *tracker) publish(ctx workflow.Context) {
	var b strings.Builder
	for _, s := range t.p.Steps {
		b.WriteString("- **" + s.Name + "**: " + s.State)
		if s.JobName != "" {
			b.WriteString(" `" + s.JobName + "`")
		}
		if s.Detail != "" {
			b.WriteString(" — " + s.Detail)
		}
		b.WriteString("\n")
	}
	if t.p.Decision != "" {
		b.WriteString("\nDecision: **" + t.p.Decision + "**\n")
	}
	if t.p.Promotion != "" {
		b.WriteString("\nPromotion: **" + t.p.Promotion + "**\n")
	}
	workflow.SetCurrentDetails(ctx, b.String())
}
