package parity

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdlc/mdlc/lambdas/contract"
)

const testSchedulerRole = "arn:aws:iam::000000000000:role/mdlc-scheduler"

// scheduledInput is the execution input the EventBridge schedule of p starts the state machine with at
// scheduled: the emitted schedule's Input, with the placeholder replaced as EventBridge Scheduler replaces
// it.
func scheduledInput(t *testing.T, p Pipeline, offset string, scheduled time.Time) string {
	t.Helper()
	s, err := EventBridgeSchedule(p, parityConfig(), Schedule{ModelName: parityModel, DataDateOffset: offset, Cron: "0 6 * * *", RoleArn: testSchedulerRole})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Target.Input, contract.ScheduledTimePlaceholder) {
		t.Fatalf("schedule input %s lacks %s as written", s.Target.Input, contract.ScheduledTimePlaceholder)
	}
	return strings.ReplaceAll(s.Target.Input, contract.ScheduledTimePlaceholder, scheduled.UTC().Format(time.RFC3339))
}

// TestEventBridgeSchedule: the emitted CreateSchedule request targets the state machine with a scheduled
// request (no DataDate; the placeholder unescaped), in the expression EventBridge Scheduler reads.
func TestEventBridgeSchedule(t *testing.T) {
	cfg := parityConfig()
	s, err := EventBridgeSchedule(BatchInferencePipeline, cfg, Schedule{ModelName: "churn", DataDateOffset: "-1d", Cron: "0 2 * * *", RoleArn: testSchedulerRole})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "mdlc-batch-inference-churn" || s.ScheduleExpression != "cron(0 2 * * ? *)" || s.ScheduleExpressionTimezone != "UTC" ||
		s.FlexibleTimeWindow.Mode != "OFF" || s.State != "ENABLED" {
		t.Errorf("schedule %+v", s)
	}
	if s.Target.Arn != cfg.WithDefaults().StateMachineARN(BatchInferencePipeline) || s.Target.RoleArn != testSchedulerRole {
		t.Errorf("target %+v", s.Target)
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(s.Target.Input), &in); err != nil {
		t.Fatalf("input %s: %v", s.Target.Input, err)
	}
	want := map[string]string{"ModelName": "churn", "DataDateOffset": "-1d", "ScheduledTime": contract.ScheduledTimePlaceholder}
	if len(in) != len(want) || in["ModelName"] != want["ModelName"] || in["DataDateOffset"] != want["DataDateOffset"] || in["ScheduledTime"] != want["ScheduledTime"] {
		t.Errorf("input %v, want %v", in, want)
	}
	b, err := s.JSON()
	if err != nil || !strings.Contains(string(b), contract.ScheduledTimePlaceholder) {
		t.Errorf("JSON escapes the placeholder (%v):\n%s", err, b)
	}
	pol, err := SchedulerPolicy(BatchInferencePipeline, cfg)
	if err != nil || len(pol.Statement) != 1 || pol.Statement[0].Action[0] != "states:StartExecution" || pol.Statement[0].Resource[0] != s.Target.Arn {
		t.Errorf("scheduler policy %+v, %v", pol, err)
	}
}

func TestScheduleExpression(t *testing.T) {
	for _, tc := range []struct {
		cron  string
		every time.Duration
		want  string
	}{
		{"0 2 * * *", 0, "cron(0 2 * * ? *)"},
		{"30 6 1 * *", 0, "cron(30 6 1 * ? *)"},
		{"0 6 * * MON-FRI", 0, "cron(0 6 ? * MON-FRI *)"},
		{"*/15 * * * *", 0, "cron(*/15 * * * ? *)"},
		{"", 24 * time.Hour, "rate(1 day)"},
		{"", 7 * 24 * time.Hour, "rate(7 days)"},
		{"", 6 * time.Hour, "rate(6 hours)"},
		{"", 90 * time.Minute, "rate(90 minutes)"},
		{"", time.Minute, "rate(1 minute)"},
	} {
		got, err := scheduleExpression(tc.cron, tc.every)
		if err != nil || got != tc.want {
			t.Errorf("scheduleExpression(%q, %s) = %q, %v; want %q", tc.cron, tc.every, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		cron  string
		every time.Duration
		want  string
	}{
		{"0 2 * * 1-5", 0, "write days by name"},
		{"0 2 1 * MON", 0, "both a day of month and a day of week"},
		{"0 0 2 * * *", 0, "must have 5 fields"},
		{"", 30 * time.Second, "whole minutes"},
		{"0 2 * * *", time.Hour, "exactly one"},
		{"", 0, "exactly one"},
	} {
		if _, err := scheduleExpression(tc.cron, tc.every); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("scheduleExpression(%q, %s) = %v, want an error containing %q", tc.cron, tc.every, err, tc.want)
		}
	}
}

// TestEventBridgeScheduleRejects: a request the state machine would reject is not emitted.
func TestEventBridgeScheduleRejects(t *testing.T) {
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{Schedule{ModelName: "a_b", Cron: "0 2 * * *", RoleArn: testSchedulerRole}, "model name"},
		{Schedule{ModelName: "m", DataDateOffset: "-1", Cron: "0 2 * * *", RoleArn: testSchedulerRole}, "whole number of days"},
		{Schedule{ModelName: "m", Cron: "0 2 * * *"}, "scheduler role ARN is required"},
	} {
		if _, err := EventBridgeSchedule(TrainingPipeline, parityConfig(), tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.s, err, tc.want)
		}
	}
}
