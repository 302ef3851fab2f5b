package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mdlc/mdlc/activities"
)

const pendingPkg = "arn:pkg/m/2"

// mockPendingTraining makes a training run register version 2 PendingManualApproval, with the worker's approval
// timeout timeout; the test mocks WaitForApproval (and DecideApproval).
func mockPendingTraining(env *testsuite.TestWorkflowEnvironment, timeout time.Duration) {
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "PendingManualApproval", ApprovalTimeout: timeout}, nil)
	mockTraining(env, "RegisterModel")
	env.OnActivity(a.RegisterModel, mock.Anything, mock.Anything).Return(activities.RegisterModelOutput{ModelPackageArn: pendingPkg, ModelPackageVersion: 2, ApprovalStatus: "PendingManualApproval"}, nil)
}

// blockingWait is a WaitForApproval that nobody decides: it returns when the run cancels it.
func blockingWait(ctx context.Context, _ activities.WaitForApprovalInput) (activities.ApprovalState, error) {
	<-ctx.Done()
	return activities.ApprovalState{}, ctx.Err()
}

func trainingResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) TrainingResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res TrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

func waitStep(t *testing.T, env *testsuite.TestWorkflowEnvironment) (Step, *ApprovalWait) {
	t.Helper()
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var p Progress
	require.NoError(t, v.Get(&p))
	for _, s := range p.Steps {
		if s.Name == StepWaitApproval {
			return s, p.Approval
		}
	}
	t.Fatalf("no %s step in %+v", StepWaitApproval, p.Steps)
	return Step{}, nil
}

// update sends the approval Update and returns whether it was rejected (by the validator) and its outcome.
type updateResult struct {
	rejected, completed error
	outcome             ApprovalOutcome
	accepted            bool
}

func sendApproval(env *testsuite.TestWorkflowEnvironment, id string, req ApprovalRequest, r *updateResult) {
	env.UpdateWorkflow(ApprovalUpdate, id, &testsuite.TestUpdateCallback{
		OnAccept: func() { r.accepted = true },
		OnReject: func(err error) { r.rejected = err },
		OnComplete: func(v any, err error) {
			r.completed = err
			if o, ok := v.(ApprovalOutcome); ok {
				r.outcome = o
			}
		},
	}, req)
}

// TestApprovalByUpdate: the run waits for version 2; Updates for another version, with a bad status or a
// rejection without a reason are refused by the validator (nothing recorded); a good one is recorded in the
// registry by DecideApproval, ends the wait (the waiting activity is cancelled) and is the run's result.
func TestApprovalByUpdate(t *testing.T) {
	env := newEnv(t)
	mockPendingTraining(env, time.Hour)
	// The run completes only once the waiting activity is cancelled: blockingWait returns on cancellation only.
	env.OnActivity(a.WaitForApproval, mock.Anything, mock.Anything).Return(blockingWait)
	var decided activities.DecideApprovalInput
	env.OnActivity(a.DecideApproval, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.DecideApprovalInput) (activities.ApprovalState, error) {
		decided = in
		return activities.ApprovalState{Status: in.Status, Description: in.Description}, nil
	}).Once()

	var wrongVersion, badStatus, noReason, good, dup updateResult
	env.RegisterDelayedCallback(func() {
		sendApproval(env, "wrong-version", ApprovalRequest{ModelPackageVersion: 1, Status: "Approved", By: "alice"}, &wrongVersion)
		sendApproval(env, "bad-status", ApprovalRequest{ModelPackageVersion: 2, Status: "Maybe", By: "alice"}, &badStatus)
		sendApproval(env, "no-reason", ApprovalRequest{ModelPackageVersion: 2, Status: "Rejected", By: "alice"}, &noReason)
		s, w := waitStep(t, env)
		require.Equal(t, StepRunning, s.State)
		require.Contains(t, s.Detail, "starter approve m 2")
		require.True(t, w.Waiting)
		require.Equal(t, int32(2), w.ModelPackageVersion)
		sendApproval(env, "good", ApprovalRequest{ModelPackageVersion: 2, Status: "Approved", Reason: "AUC 0.93", By: "alice"}, &good)
		sendApproval(env, "dup", ApprovalRequest{ModelPackageVersion: 2, Status: "Rejected", Reason: "no", By: "bob"}, &dup)
	}, time.Second)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})

	require.ErrorContains(t, wrongVersion.rejected, "waits for a decision on version 2 of m, not version 1")
	require.ErrorContains(t, badStatus.rejected, `status "Maybe" must be Approved or Rejected`)
	require.ErrorContains(t, noReason.rejected, "a rejection needs a reason")
	require.NoError(t, good.rejected)
	require.NoError(t, good.completed)
	require.Error(t, dup.rejected, "a second decision is refused")
	require.Regexp(t, "being recorded|already decided", dup.rejected.Error())

	res := trainingResult(t, env)
	require.Equal(t, "Approved", res.ApprovalStatus)
	require.NotNil(t, res.Approval)
	require.Equal(t, ApprovalOutcome{Decision: "Approved", Via: ApprovalViaRun, By: "alice", Reason: "AUC 0.93", At: res.Approval.At,
		Description: decided.Description, WaitedSince: res.Approval.WaitedSince}, *res.Approval)
	require.Equal(t, good.outcome, *res.Approval)
	require.Equal(t, pendingPkg, decided.ModelPackageArn)
	require.Equal(t, activities.ApprovalDescription("Approved", "alice", res.Approval.At, "AUC 0.93"), decided.Description)
	s, w := waitStep(t, env)
	require.Equal(t, StepCompleted, s.State)
	require.Contains(t, s.Detail, "Approved by alice")
	require.False(t, w.Waiting)
}

// TestApprovalInTheRegistry: a decision made straight in the registry, which the waiting activity returns,
// ends the wait; the result says so.
func TestApprovalInTheRegistry(t *testing.T) {
	env := newEnv(t)
	mockPendingTraining(env, time.Hour)
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	env.OnActivity(a.WaitForApproval, mock.Anything, activities.WaitForApprovalInput{ModelPackageArn: pendingPkg}).Return(
		activities.ApprovalState{Status: "Rejected", Description: "bad labels", ModifiedAt: at, ModifiedBy: "carol"}, nil)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	res := trainingResult(t, env)
	require.Equal(t, "Rejected", res.ApprovalStatus)
	require.Equal(t, &ApprovalOutcome{Decision: "Rejected", Via: ApprovalViaRegistry, By: "carol", At: at, Description: "bad labels",
		WaitedSince: res.Approval.WaitedSince}, res.Approval)
	s, _ := waitStep(t, env)
	require.Equal(t, "Rejected by carol at 2026-12-07T10:00:00Z (registry): bad labels", s.Detail)
}

// TestApprovalRefusedByTheRegistry: an Update accepted by the run whose decision the registry refuses
// (someone decided there first) fails, and the wait ends with the registry's decision.
func TestApprovalRefusedByTheRegistry(t *testing.T) {
	env := newEnv(t)
	mockPendingTraining(env, time.Hour)
	decidedElsewhere := make(chan struct{})
	env.OnActivity(a.DecideApproval, mock.Anything, mock.Anything).Return(func(context.Context, activities.DecideApprovalInput) (activities.ApprovalState, error) {
		close(decidedElsewhere)
		return activities.ApprovalState{}, temporal.NewNonRetryableApplicationError("model package was already decided: it is Rejected", activities.ErrAlreadyDecided, nil)
	})
	env.OnActivity(a.WaitForApproval, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.WaitForApprovalInput) (activities.ApprovalState, error) {
		<-decidedElsewhere
		return activities.ApprovalState{Status: "Rejected", Description: "Rejected in the console"}, nil
	})
	var up updateResult
	env.RegisterDelayedCallback(func() {
		sendApproval(env, "late", ApprovalRequest{ModelPackageVersion: 2, Status: "Approved", By: "alice"}, &up)
	}, time.Second)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	require.NoError(t, up.rejected)
	require.ErrorContains(t, up.completed, "already decided")
	res := trainingResult(t, env)
	require.Equal(t, "Rejected", res.ApprovalStatus)
	require.Equal(t, ApprovalViaRegistry, res.Approval.Via)
}

// TestApprovalTimeout: nobody decides within the approval timeout: the run completes with no decision and the
// version stays PendingManualApproval; a decision after that is refused by the run.
func TestApprovalTimeout(t *testing.T) {
	env := newEnv(t)
	mockPendingTraining(env, 2*time.Second)
	env.OnActivity(a.WaitForApproval, mock.Anything, mock.Anything).Return(blockingWait)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	res := trainingResult(t, env)
	require.Equal(t, "PendingManualApproval", res.ApprovalStatus)
	require.Equal(t, ApprovalNoDecision, res.Approval.Decision)
	require.Equal(t, ApprovalViaTimeout, res.Approval.Via)
	s, w := waitStep(t, env)
	require.Equal(t, StepCompleted, s.State)
	require.Contains(t, s.Detail, "the version stays PendingManualApproval")
	ap := approval{wait: *w}
	require.ErrorContains(t, ap.validate(ApprovalRequest{ModelPackageVersion: 2, Status: "Approved", By: "x"}), "stopped waiting at its approval timeout")
}

// TestApprovalWaitCanceled: cancelling a waiting run cancels the wait; the version is left Pending (no
// DecideApproval) and the step is canceled.
func TestApprovalWaitCanceled(t *testing.T) {
	env := newEnv(t)
	mockPendingTraining(env, time.Hour)
	env.OnActivity(a.WaitForApproval, mock.Anything, mock.Anything).Return(blockingWait)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "got %v", env.GetWorkflowError())
	s, _ := waitStep(t, env)
	require.Equal(t, StepCanceled, s.State)
	env.AssertNotCalled(t, "DecideApproval", mock.Anything, mock.Anything)
}

// TestApprovedVersionDoesNotWait: a version registered Approved ends the run without a wait step.
func TestApprovedVersionDoesNotWait(t *testing.T) {
	env := newEnv(t)
	mockTraining(env)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	res := trainingResult(t, env)
	require.Nil(t, res.Approval)
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var p Progress
	require.NoError(t, v.Get(&p))
	require.Nil(t, p.Approval)
	for _, s := range p.Steps {
		require.NotEqual(t, StepWaitApproval, s.Name)
	}
}
