package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// waitingRun is an open Training run that waits for a decision on a model version.
type waitingRun struct {
	workflowID, runID string
}

// waitingRuns finds the run that waits for a decision and sends it the decision; approve and reject use it
// before they fall back to the registry.
type waitingRuns interface {
	// find returns the open Training run of model that waits for a decision on version, or nil when none does.
	find(ctx context.Context, model string, version int32) (*waitingRun, error)
	// send sends the decision to run as its approval Update and returns the run's outcome.
	send(ctx context.Context, run *waitingRun, req workflows.ApprovalRequest) (workflows.ApprovalOutcome, error)
}

// maxOpenTrainingRuns bounds how many open Training runs of one model find asks for their progress.
const maxOpenTrainingRuns = 100

// temporalRuns finds waiting runs through Temporal: the open Training runs of the model (visibility, by the
// ModelName search attribute), whose progress says which version they wait for.
type temporalRuns struct {
	tf *temporalFlags
	c  client.Client
}

func (r *temporalRuns) client(ctx context.Context) (client.Client, error) {
	if r.c == nil {
		c, err := r.tf.dial(ctx)
		if err != nil {
			return nil, err
		}
		r.c = c
	}
	return r.c, nil
}

// close closes the client, if one was dialled.
func (r *temporalRuns) close() {
	if r.c != nil {
		r.c.Close()
	}
}

// waitingQuery is the visibility query of the open Training runs of model.
func waitingQuery(model string) string {
	return fmt.Sprintf("%s = %s AND WorkflowType = %s AND ExecutionStatus = 'Running'",
		workflows.ModelNameAttribute.GetName(), strconv.Quote(model), strconv.Quote(workflows.TrainingWorkflow))
}

func (r *temporalRuns) find(ctx context.Context, model string, version int32) (*waitingRun, error) {
	c, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: r.tf.namespace, PageSize: maxOpenTrainingRuns, Query: waitingQuery(model),
	})
	if err != nil {
		return nil, fmt.Errorf("list open training runs of %s: %w", model, err)
	}
	var errs []error
	for _, info := range resp.GetExecutions() {
		id, runID := info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId()
		p, err := queryProgress(ctx, c, id, runID)
		if err != nil {
			errs = append(errs, fmt.Errorf("query run %s: %w", id, err))
			continue
		}
		if w := p.Approval; w != nil && w.Waiting && w.ModelName == model && w.ModelPackageVersion == version {
			return &waitingRun{workflowID: id, runID: runID}, nil
		}
	}
	return nil, errors.Join(errs...)
}

func (r *temporalRuns) send(ctx context.Context, run *waitingRun, req workflows.ApprovalRequest) (workflows.ApprovalOutcome, error) {
	var out workflows.ApprovalOutcome
	c, err := r.client(ctx)
	if err != nil {
		return out, err
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.workflowID, RunID: run.runID, UpdateName: workflows.ApprovalUpdate,
		Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return out, err
	}
	err = h.Get(ctx, &out)
	return out, err
}

// waitingOnly narrows the list query q to the open runs that wait for a decision.
func waitingOnly(q string) string {
	return fmt.Sprintf("%s = %s AND ExecutionStatus = 'Running' AND %s",
		workflows.ApprovalStatusAttribute.GetName(), strconv.Quote(contract.ApprovalPending), q)
}

// listStatus is a run's status as `list` shows it: "Running (waiting for approval)" for a run that waits for
// a decision.
func listStatus(r RunListing) string {
	if r.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING.String() && r.ApprovalStatus == contract.ApprovalPending {
		return r.Status + " (waiting for approval)"
	}
	return r.Status
}
