package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/workflows"
)

// waitForApproval returns the run's progress once it waits for a decision.
func waitForApproval(t *testing.T, ctx context.Context, c client.Client, run client.WorkflowRun) workflows.Progress {
	t.Helper()
	for {
		var p workflows.Progress
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&p))
		if p.Approval != nil && p.Approval.Waiting {
			return p
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s does not wait for a decision: %v; progress %+v", run.GetID(), ctx.Err(), p)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// TestApprovalWaitEndToEnd: runs that register their version PendingManualApproval wait for the decision;
// one is decided by its approval Update, another straight in the registry. However long they waited, their
// histories stay short (the registry is polled inside one activity), and a refused Update leaves no trace. A
// third is cancelled while it waits: its version stays PendingManualApproval.
func TestApprovalWaitEndToEnd(t *testing.T) {
	_, c, sm := startStack(t, demodata.DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const model = "gated"
	start := func(date string) client.WorkflowRun {
		run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, date), model, date),
			workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: date, ApprovalStatus: "PendingManualApproval"})
		require.NoError(t, err)
		return run
	}
	update := func(run client.WorkflowRun, req workflows.ApprovalRequest) (workflows.ApprovalOutcome, error) {
		var out workflows.ApprovalOutcome
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
			UpdateName: workflows.ApprovalUpdate, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, &out)
		}
		return out, err
	}

	run := start("2019-10-01")
	p := waitForApproval(t, ctx, c, run)
	require.Equal(t, int32(1), p.Approval.ModelPackageVersion)
	before := historyLength(t, c, run.GetID(), run.GetRunID())
	_, err := update(run, workflows.ApprovalRequest{ModelPackageVersion: 1, Status: "Rejected", By: "alice"})
	require.ErrorContains(t, err, "a rejection needs a reason")
	time.Sleep(3 * time.Second) // the wait polls the registry meanwhile: none of it reaches the history
	require.Equal(t, before, historyLength(t, c, run.GetID(), run.GetRunID()), "a refused Update and the polling leave no events")
	outcome, err := update(run, workflows.ApprovalRequest{ModelPackageVersion: 1, Status: "Approved", Reason: "good AUC", By: "alice"})
	require.NoError(t, err)
	require.Equal(t, workflows.ApprovalViaRun, outcome.Via)
	var res workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "Approved", res.ApprovalStatus)
	require.Equal(t, outcome, *res.Approval)
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(res.ModelPackageArn)})
	require.NoError(t, err)
	require.Equal(t, smtypes.ModelApprovalStatusApproved, pkg.ModelApprovalStatus)
	require.Equal(t, outcome.Description, aws.ToString(pkg.ApprovalDescription))
	require.Less(t, historyLength(t, c, run.GetID(), run.GetRunID()), 80, "no polling in the history")
	recordHistory(t, c, "training-approval-update", run.GetID(), run.GetRunID())

	run = start("2019-11-01")
	p = waitForApproval(t, ctx, c, run)
	_, err = sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(p.Approval.ModelPackageArn),
		ModelApprovalStatus: smtypes.ModelApprovalStatusRejected, ApprovalDescription: aws.String("rejected in the console")})
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, "Rejected", res.ApprovalStatus)
	require.Equal(t, workflows.ApprovalViaRegistry, res.Approval.Via)
	require.Equal(t, "rejected in the console", res.Approval.Description)
	require.Less(t, historyLength(t, c, run.GetID(), run.GetRunID()), 80, "no polling in the history")
	recordHistory(t, c, "training-approval-registry", run.GetID(), run.GetRunID())

	// Cancelling a waiting run ends it canceled and leaves its version PendingManualApproval.
	run = start("2019-10-01")
	p = waitForApproval(t, ctx, c, run)
	require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
	err = run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled)
	pkg, err = sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(p.Approval.ModelPackageArn)})
	require.NoError(t, err)
	require.Equal(t, smtypes.ModelApprovalStatusPendingManualApproval, pkg.ModelApprovalStatus, "a cancel decides nothing")
}

// TestApprovalTimeoutEndToEnd: a run whose version nobody decides within the worker's approval timeout
// completes with no decision; the version stays PendingManualApproval in the registry, and so does the run's
// ApprovalStatus search attribute. A decision sent after the timeout reaches no run.
func TestApprovalTimeoutEndToEnd(t *testing.T) {
	_, c, sm := startStack(t, demodata.DefaultConfig(), "--approval-timeout", "2s")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const model, date = "unattended", "2019-10-01"
	run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, date), model, date),
		workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: date, ApprovalStatus: "PendingManualApproval"})
	require.NoError(t, err)
	var res workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &res))
	require.NotNil(t, res.Approval)
	require.Equal(t, workflows.ApprovalNoDecision, res.Approval.Decision)
	require.Equal(t, workflows.ApprovalViaTimeout, res.Approval.Via)
	require.Equal(t, "PendingManualApproval", res.ApprovalStatus, "the result says what the registry holds")
	require.GreaterOrEqual(t, res.Approval.At.Sub(res.Approval.WaitedSince), 2*time.Second, "waited the whole timeout")

	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(res.ModelPackageArn)})
	require.NoError(t, err)
	require.Equal(t, smtypes.ModelApprovalStatusPendingManualApproval, pkg.ModelApprovalStatus, "a timeout decides nothing")

	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	var status string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(
		desc.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields()[workflows.ApprovalStatusAttribute.GetName()], &status))
	require.Equal(t, "PendingManualApproval", status)

	_, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: workflows.ApprovalUpdate, Args: []any{workflows.ApprovalRequest{ModelPackageVersion: res.ModelPackageVersion, Status: "Approved", By: "late"}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	require.Error(t, err, "the run is closed")
}
