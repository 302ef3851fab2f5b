// Package closewatch notifies of the pipeline runs that end without running workflow code — terminated by a
// person (`temporal workflow terminate`, the web UI's Terminate) or timed out — which therefore cannot send
// their own notification as completed, failed and canceled runs do. Each worker with a notify URL watches
// the namespace's visibility store for such runs and starts, for each, a NotifyClosed workflow with a workflow
// ID derived from the run's ID: however many workers see the run, the server starts its notification once.
//
// What it does not cover: a run that closed more than Options.Lookback before a watching worker started (no
// worker with a notify URL ran at the time), and runs of other workflow types.
package closewatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// Defaults of Options.
const (
	// DefaultInterval is how often a worker looks for newly terminated or timed-out runs.
	DefaultInterval = 15 * time.Second
	// DefaultLookback is how far back a worker looks when it starts, for runs that closed while no worker
	// watched. It is well within any namespace's retention (a day at least), so that a NotifyClosed run the
	// workers started for a run is still there to refuse a second one.
	DefaultLookback = time.Hour
	// overlap is how far each scan reaches back before the previous one started, for a run whose close the
	// visibility store recorded late.
	overlap = time.Minute
	// pageSize bounds one visibility page.
	pageSize = 100
)

// Options configure Watch.
type Options struct {
	Namespace string
	// TaskQueue is where the NotifyClosed runs are started (the workers' task queue).
	TaskQueue string
	// Interval and Lookback: DefaultInterval and DefaultLookback when zero.
	Interval time.Duration
	Lookback time.Duration
	Logger   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Watch looks for terminated and timed-out pipeline runs every Options.Interval until ctx ends, and starts the
// notification of each one it finds. Errors (the server unreachable) are logged and the next scan tries again.
func Watch(ctx context.Context, c client.Client, opts Options) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Lookback <= 0 {
		opts.Lookback = DefaultLookback
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	since := opts.Now().Add(-opts.Lookback)
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	for {
		started := opts.Now()
		n, err := Scan(ctx, c, opts, since)
		if err != nil && ctx.Err() == nil {
			opts.Logger.Warn("Cannot look for terminated or timed-out runs to notify; trying again", "Error", err)
		} else {
			since = started.Add(-overlap)
			if n > 0 {
				opts.Logger.Info("Notifications of terminated or timed-out runs started", "Runs", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Query is the visibility query of the pipeline runs that closed terminated or timed out since the given time.
func Query(since time.Time) string {
	return fmt.Sprintf(`(WorkflowType = %q OR WorkflowType = %q) AND (ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut") AND CloseTime >= %q`,
		workflows.TrainingWorkflow, workflows.BatchInferenceWorkflow, since.UTC().Format(time.RFC3339Nano))
}

// Scan starts the notification of every pipeline run that closed terminated or timed out since the given
// time and has none yet, and says how many it started.
func Scan(ctx context.Context, c client.Client, opts Options, since time.Time) (int, error) {
	started := 0
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: opts.Namespace, PageSize: pageSize, Query: Query(since)}
	for {
		resp, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return started, fmt.Errorf("list terminated and timed-out runs: %w", err)
		}
		for _, run := range resp.Executions {
			ok, err := start(ctx, c, opts, run)
			if err != nil {
				return started, err
			}
			if ok {
				started++
			}
		}
		if len(resp.NextPageToken) == 0 {
			return started, nil
		}
		req.NextPageToken = resp.NextPageToken
	}
}

// start starts the NotifyClosed run of one closed run, and reports false when it already has one.
func start(ctx context.Context, c client.Client, opts Options, run *workflow.WorkflowExecutionInfo) (bool, error) {
	n := Notification(opts.Namespace, run)
	n.Failure = reason(ctx, c, n.WorkflowID, n.RunID)
	n.FailedStep = runningStep(ctx, c, n.WorkflowID, n.RunID)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.NotifyClosedWorkflowID(n.RunID),
		TaskQueue:             opts.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// Without it the SDK hands back the running NotifyClosed run as if it had started it.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Notify: %s %s", n.WorkflowID, n.Status),
	}, workflows.NotifyClosedWorkflow, workflows.NotifyClosedInput{Notification: n})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("start the notification of run %s of %s: %w", n.RunID, n.WorkflowID, err)
	}
	return true, nil
}

// Notification is what a terminated or timed-out run's notification says, from its visibility record: the
// run, its request's ModelName and DataDate and what it had recorded in its search attributes (decision,
// AUC, model version) before it ended.
func Notification(namespace string, run *workflow.WorkflowExecutionInfo) activities.Notification {
	n := activities.Notification{
		Namespace:    namespace,
		WorkflowType: run.GetType().GetName(),
		WorkflowID:   run.GetExecution().GetWorkflowId(),
		RunID:        run.GetExecution().GetRunId(),
		StartTime:    run.GetStartTime().AsTime(),
		CloseTime:    run.GetCloseTime().AsTime(),
		Status:       activities.StatusTerminated,
	}
	if run.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
		n.Status = activities.StatusTimedOut
	}
	if p := run.GetParentExecution(); p != nil {
		n.ParentWorkflowID = p.GetWorkflowId()
	}
	attrs := run.GetSearchAttributes().GetIndexedFields()
	decode(attrs, workflows.ModelNameAttribute.GetName(), &n.ModelName)
	decode(attrs, workflows.DataDateAttribute.GetName(), &n.DataDate)
	decode(attrs, workflows.DecisionAttribute.GetName(), &n.Decision)
	var auc float64
	if decode(attrs, workflows.AUCAttribute.GetName(), &auc) {
		n.AUC = &auc
	}
	var version int64
	if decode(attrs, workflows.ModelVersionAttribute.GetName(), &version) {
		n.ModelPackageVersion = int32(version)
	}
	return n
}

// decode reads one search attribute into v and reports whether the run has it.
func decode(attrs map[string]*commonpb.Payload, name string, v any) bool {
	p, ok := attrs[name]
	return ok && converter.GetDefaultDataConverter().FromPayload(p, v) == nil
}

// reason is why the run ended, as its close event says: the person's termination reason and identity, or
// the timeout. It is empty when the history cannot be read; the notification goes out without it.
func reason(ctx context.Context, c client.Client, id, runID string) string {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return ""
		}
		if a := ev.GetWorkflowExecutionTerminatedEventAttributes(); a != nil {
			msg := "terminated"
			if a.GetIdentity() != "" {
				msg += " by " + a.GetIdentity()
			}
			if a.GetReason() != "" {
				msg += ": " + a.GetReason()
			}
			return activities.CutFailure(msg)
		}
		if ev.GetWorkflowExecutionTimedOutEventAttributes() != nil {
			return "the run's execution or run timeout passed"
		}
	}
	return ""
}

// queryTimeout bounds the progress query of a closed run, which a worker answers by replaying its history.
const queryTimeout = 10 * time.Second

// runningStep is the step the run was in when it ended, from its progress query; empty when the query
// cannot be answered (no worker, or a history of another version), and the notification goes out without it.
func runningStep(ctx context.Context, c client.Client, id, runID string) string {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, id, runID, workflows.ProgressQuery)
	var p workflows.Progress
	if err != nil || v.Get(&p) != nil {
		return ""
	}
	for _, s := range p.Steps {
		if s.State == workflows.StepRunning {
			return s.Name
		}
	}
	return ""
}
