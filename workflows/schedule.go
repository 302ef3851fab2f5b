package workflows

import (
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// ScheduledStartTimeAttribute is the search attribute the Temporal scheduler sets on each run a schedule
// starts: the run's nominal time (the time the schedule's spec named, before jitter and whatever delay the
// start had), truncated to the second. A scheduled request's DataDate is derived from it.
const ScheduledStartTimeAttribute = "TemporalScheduledStartTime"

// ScheduledByIDAttribute is the search attribute the Temporal scheduler sets to the ID of the schedule that
// started a run.
const ScheduledByIDAttribute = "TemporalScheduledById"

// scheduledTime returns the run's nominal time when a Temporal schedule started it, else nil. It reads the
// search attributes of the run's start event, so replay reads the same value.
func scheduledTime(ctx workflow.Context) *time.Time {
	sa := workflow.GetInfo(ctx).SearchAttributes
	if sa == nil {
		return nil
	}
	p, ok := sa.GetIndexedFields()[ScheduledStartTimeAttribute]
	if !ok {
		return nil
	}
	var t time.Time
	if err := converter.GetDefaultDataConverter().FromPayload(p, &t); err != nil || t.IsZero() {
		workflow.GetLogger(ctx).Warn("Unreadable scheduled start time", "Attribute", ScheduledStartTimeAttribute, "Error", err)
		return nil
	}
	return &t
}

// resolveDataDate returns the DataDate a valid request processes: its own, or for a scheduled request (a
// DataDateOffset and no DataDate) the date contract.ResolveDataDate derives from its ScheduledTime or the
// schedule's nominal time. Its error is an invalid request.
func resolveDataDate(ctx workflow.Context, in contract.WorkflowInput) (string, error) {
	if in.DataDateOffset == "" {
		return in.DataDate, nil
	}
	return contract.ResolveDataDate(in, scheduledTime(ctx))
}

// ScheduledWorkflowID is the workflow ID the starter's schedule scheduleID gives its action; the Temporal
// scheduler appends "-<nominal time>" (RFC 3339, UTC) to it for each run.
func ScheduledWorkflowID(scheduleID string) string { return "scheduled-" + scheduleID }

// Values of the Trigger search attribute of the runs the starter starts for a schedule or a backfill.
const (
	// TriggerBackfill marks the runs of `starter backfill`.
	TriggerBackfill = "backfill"
	// TriggerSchedulePrefix starts the Trigger of a scheduled run, followed by the schedule's ID.
	TriggerSchedulePrefix = "schedule:"
)

// ScheduleTrigger is the Trigger search attribute of the runs of schedule scheduleID.
func ScheduleTrigger(scheduleID string) string { return TriggerSchedulePrefix + scheduleID }
