package main

import (
	"io"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/mdlc/mdlc/internal/stack/harness"
)

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {95, 10}, {100, 10}, {0, 1}, {10, 1}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

// event builds history event id at ms milliseconds after t0.
func event(id int64, ms int, typ enumspb.EventType, set func(*historypb.HistoryEvent)) *historypb.HistoryEvent {
	e := &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(t0.Add(time.Duration(ms) * time.Millisecond))}
	if set != nil {
		set(e)
	}
	return e
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func scheduled(id int64, ms int, activity string) *historypb.HistoryEvent {
	return event(id, ms, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: activity}}}
	})
}

func started(id int64, ms int, sched int64) *historypb.HistoryEvent {
	return event(id, ms, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: sched}}
	})
}

func completed(id int64, ms int, sched, start int64) *historypb.HistoryEvent {
	return event(id, ms, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: sched, StartedEventId: start}}
	})
}

func taskStarted(id int64, ms int, sched int64) *historypb.HistoryEvent {
	return event(id, ms, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowTaskStartedEventAttributes{WorkflowTaskStartedEventAttributes: &historypb.WorkflowTaskStartedEventAttributes{ScheduledEventId: sched}}
	})
}

func taskCompleted(id int64, ms int, start int64) *historypb.HistoryEvent {
	return event(id, ms, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{StartedEventId: start}}
	})
}

// TestDetectionAndBreakdown: a training run with local steps. Its first workflow task runs Initialize (a local
// activity) and schedules the training job, which ends at 2.0 s; the workflow task that takes the result
// starts at 2.7 s and runs Create Model.
func TestDetectionAndBreakdown(t *testing.T) {
	events := []*historypb.HistoryEvent{
		event(1, 0, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil), taskStarted(2, 40, 1), taskCompleted(3, 190, 2),
		event(4, 190, enumspb.EVENT_TYPE_MARKER_RECORDED, nil),
		scheduled(5, 190, "TrainModel"), started(6, 250, 5), completed(7, 2600, 5, 6),
		event(8, 2600, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil), taskStarted(9, 2700, 8), taskCompleted(10, 2730, 9),
		event(11, 2730, enumspb.EVENT_TYPE_MARKER_RECORDED, nil),
		event(12, 2730, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil),
	}
	jobs := []harness.Job{{Kind: "training", Start: t0.Add(500 * time.Millisecond), End: t0.Add(2 * time.Second)}}
	got := detectionDelays(events, jobs)
	if len(got) != 1 || got[0] != 700*time.Millisecond {
		t.Errorf("detection delays = %v, want [700ms]", got)
	}
	wait, steps := breakdown(events)
	if want := 200 * time.Millisecond; wait != want { // 40 + 60 + 100
		t.Errorf("waiting for the worker = %v, want %v", wait, want)
	}
	if want := 180 * time.Millisecond; steps != want { // 150 + 30
		t.Errorf("Lambda + API steps = %v, want %v", steps, want)
	}
}

// TestBreakdownBeforeLocalSteps: a run recorded before local steps ran its Lambda and API steps as activities.
func TestBreakdownBeforeLocalSteps(t *testing.T) {
	events := []*historypb.HistoryEvent{
		scheduled(1, 0, "InitializeTraining"), started(2, 100, 1), completed(3, 150, 1, 2),
		scheduled(4, 200, "TrainModel"), started(5, 250, 4), completed(6, 2600, 4, 5),
		scheduled(7, 2700, "CreateModel"), started(8, 2710, 7), completed(9, 2730, 7, 8),
		event(10, 2800, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil),
	}
	wait, steps := breakdown(events)
	if want := 160 * time.Millisecond; wait != want { // 100 + 50 + 10
		t.Errorf("waiting for the worker = %v, want %v", wait, want)
	}
	if want := 70 * time.Millisecond; steps != want { // 50 + 20
		t.Errorf("Lambda + API steps = %v, want %v", steps, want)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-out", "x.md", "-dir", t.TempDir(), "-concurrent", "10, 20", "-worker-flag=--max-concurrent-activities=5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sizes) != 2 || c.sizes[0] != 10 || c.sizes[1] != 20 {
		t.Errorf("sizes = %v, want [10 20]", c.sizes)
	}
	if got := len(c.args); got != 5 { // -dir and its value are left out of the report's command line
		t.Errorf("report args = %q, want 5, without -dir", c.args)
	}
	for _, bad := range [][]string{{"-concurrent", "ten"}, {"-sequential", "0"}, {"extra"}} {
		if _, err := parseFlags(append(bad, "-dir", t.TempDir()), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error", bad)
		}
	}
}
