package cli

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/workflows"
)

// TestScheduleAndBackfillUsageErrors: every mistake is one sentence, exit code 2, before any connection.
func TestScheduleAndBackfillUsageErrors(t *testing.T) {
	create := []string{"schedule", "create", "--model", "churn", "--pipeline", "batch-inference"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no action", []string{"schedule"}, "schedule needs a ACTION argument"},
		{"unknown action", []string{"schedule", "frob"}, `schedule: unknown action "frob": use create, list, describe, pause, unpause, trigger, delete`},
		{"too many arguments", []string{"schedule", "pause", "a", "b"}, `schedule takes one ACTION and one SCHEDULE_ID, got`},
		{"pause without ID", []string{"schedule", "pause"}, "schedule pause needs a SCHEDULE_ID argument"},
		{"list with ID", []string{"schedule", "list", "x"}, `schedule list takes no SCHEDULE_ID, got "x"`},
		{"create without model", []string{"schedule", "create", "--every", "1h", "--pipeline", "training"}, "--model is required"},
		{"create without pipeline", []string{"schedule", "create", "--model", "churn", "--every", "1h"}, "--pipeline is required"},
		{"bad pipeline", []string{"schedule", "create", "--model", "churn", "--pipeline", "infer", "--every", "1h"}, `--pipeline "infer" must be batch-inference or training`},
		{"neither cron nor every", create, "give exactly one of --cron"},
		{"both cron and every", append(slices.Clone(create), "--cron", "0 2 * * *", "--every", "24h"), "give exactly one of --cron"},
		{"bad every", append(slices.Clone(create), "--every", "daily"), `--every "daily" must be a positive duration such as 24h`},
		{"negative every", append(slices.Clone(create), "--every", "-1h"), `--every "-1h" must be a positive duration`},
		{"cron with six fields", append(slices.Clone(create), "--cron", "0 0 2 * * *"), "must have 5 fields"},
		{"bad offset", append(slices.Clone(create), "--every", "24h", "--data-date-offset", "-1"), `data date offset "-1" must be a whole number of days`},
		{"offset too far", append(slices.Clone(create), "--every", "24h", "--data-date-offset", "-400d"), "from -366d to +366d"},
		{"short catch-up", append(slices.Clone(create), "--every", "24h", "--catchup-window", "5s"), "must be at least 10s"},
		{"bad overlap", append(slices.Clone(create), "--every", "24h", "--overlap", "queue"), `--overlap "queue" must be one of buffer-all, buffer-one, skip`},
		{"threshold for training", []string{"schedule", "create", "--model", "churn", "--pipeline", "training", "--every", "24h", "--threshold", "0.8"}, "--threshold is for --pipeline batch-inference"},
		{"approval for inference", append(slices.Clone(create), "--every", "24h", "--approval-status", "Approved"), "--approval-status is for --pipeline training"},
		{"bad threshold", append(slices.Clone(create), "--every", "24h", "--threshold", "2"), "threshold 2 must be a number in [0, 1]"},
		{"bad model", []string{"schedule", "create", "--model", "a_b", "--pipeline", "training", "--every", "24h"}, `model name "a_b" must be 1-63 letters`},
		{"bad id", append(slices.Clone(create), "--every", "24h", "--id", "a b"), `schedule ID "a b" must be`},
		{"id twice", append(slices.Clone(create), "x", "--every", "24h", "--id", "y"), `SCHEDULE_ID "x" and --id "y" differ`},
		{"create flag for pause", []string{"schedule", "pause", "x", "--every", "1h"}, "schedule pause: --every is for schedule create only"},
		{"create flags for list", []string{"schedule", "list", "--model", "churn", "--pipeline", "training"}, "--model, --pipeline are for schedule create only"},
		{"schedule flag without --schedule", []string{"parity", "emit", "--pipeline", "training", "--cron", "0 2 * * *"}, "parity: --cron needs --schedule"},
		{"backfill without dates", []string{"backfill", "--model", "churn"}, "--from, --to required"},
		{"backfill bad step", []string{"backfill", "--model", "churn", "--from", "2024-08-01", "--to", "2024-10-01", "--every", "1w"}, `--every "1w" must be a number of days or months`},
		{"backfill reversed", []string{"backfill", "--model", "churn", "--from", "2024-10-01", "--to", "2024-08-01"}, "--to 2024-08-01 is before --from 2024-10-01"},
		{"backfill unreal date", []string{"backfill", "--model", "churn", "--from", "2024-02-30", "--to", "2024-08-01"}, `--from "2024-02-30" must be a real date`},
		{"backfill month end", []string{"backfill", "--model", "churn", "--from", "2024-01-31", "--to", "2024-08-01", "--every", "1mo"}, "start on a day up to the 28th"},
		{"backfill too many", []string{"backfill", "--model", "churn", "--from", "2000-01-01", "--to", "2024-08-01"}, "more than 1000 dates"},
		{"backfill threshold for training", []string{"backfill", "--model", "churn", "--pipeline", "training", "--from", "2024-08-01", "--to", "2024-08-02", "--threshold", "0.5"}, "--threshold is for --pipeline batch-inference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An unreachable server: a usage error must come before any connection.
			stdout, _, err := run(t, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, tc.args...)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", stdout)
			}
			if got := ExitCode(err); got != ExitUsage {
				t.Errorf("exit code %d, want %d (%v)", got, ExitUsage, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestScheduleOptions: what `schedule create` asks Temporal for — the scheduled request (DataDateOffset, no
// DataDate), the run IDs, the spec, and the overlap policy and catch-up window chosen on purpose.
func TestScheduleOptions(t *testing.T) {
	threshold := 0.8
	for _, tc := range []struct {
		name    string
		f       scheduleFlags
		id      string
		wantID  string
		spec    client.ScheduleSpec
		catchup time.Duration
		overlap enumspb.ScheduleOverlapPolicy
		input   any
	}{
		{
			name: "daily cron, the day before", f: scheduleFlags{model: "churn", cron: "0 2 * * *", offset: "-1d", overlap: "buffer-all",
				req: &scheduledRequest{pipeline: "batch-inference", threshold: "0.8"}},
			wantID: "batch-inference-churn", spec: client.ScheduleSpec{CronExpressions: []string{"0 2 * * *"}},
			catchup: 24 * time.Hour, overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
			input: workflows.BatchInferenceInput{ModelName: "churn", DataDateOffset: "-1d", Threshold: &threshold},
		},
		{
			name: "weekly training, its own ID, skip", f: scheduleFlags{model: "churn", every: "7d", offset: "0d", overlap: "skip",
				req: &scheduledRequest{pipeline: "training", approvalStatus: "PendingManualApproval"}},
			id: "weekly", wantID: "weekly", spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 7 * 24 * time.Hour}}},
			catchup: 7 * 24 * time.Hour, overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			input: workflows.TrainingInput{ModelName: "churn", DataDateOffset: "0d", ApprovalStatus: "PendingManualApproval"},
		},
		{
			name: "short interval: Temporal's minimum catch-up", f: scheduleFlags{model: "m", every: "5s", offset: "0d", overlap: "buffer-all",
				req: &scheduledRequest{pipeline: "batch-inference"}},
			wantID: "batch-inference-m", spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 5 * time.Second}}},
			catchup: 10 * time.Second, overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
			input: workflows.BatchInferenceInput{ModelName: "m", DataDateOffset: "0d"},
		},
		{
			name: "catch-up window given", f: scheduleFlags{model: "m", every: "1h", offset: "0d", overlap: "buffer-one", catchup: "3h",
				req: &scheduledRequest{pipeline: "batch-inference"}},
			wantID: "batch-inference-m", spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
			catchup: 3 * time.Hour, overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
			input: workflows.BatchInferenceInput{ModelName: "m", DataDateOffset: "0d"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := tc.f.options(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if opts.ID != tc.wantID || opts.CatchupWindow != tc.catchup || opts.Overlap != tc.overlap {
				t.Errorf("ID %q, catch-up %s, overlap %s; want %q, %s, %s", opts.ID, opts.CatchupWindow, opts.Overlap, tc.wantID, tc.catchup, tc.overlap)
			}
			if len(opts.Spec.CronExpressions) != len(tc.spec.CronExpressions) || len(opts.Spec.Intervals) != len(tc.spec.Intervals) ||
				(len(tc.spec.Intervals) == 1 && opts.Spec.Intervals[0] != tc.spec.Intervals[0]) ||
				(len(tc.spec.CronExpressions) == 1 && opts.Spec.CronExpressions[0] != tc.spec.CronExpressions[0]) {
				t.Errorf("spec %+v, want %+v", opts.Spec, tc.spec)
			}
			act, ok := opts.Action.(*client.ScheduleWorkflowAction)
			if !ok {
				t.Fatalf("action %T", opts.Action)
			}
			if act.ID != "scheduled-"+tc.wantID || act.TaskQueue != workflows.TaskQueue || len(act.Args) != 1 {
				t.Errorf("action ID %q, task queue %q, %d args", act.ID, act.TaskQueue, len(act.Args))
			}
			if got, want := describeInput(act.Args[0]), describeInput(tc.input); got != want {
				t.Errorf("input %s, want %s", got, want)
			}
		})
	}
}

func describeInput(in any) string {
	switch v := in.(type) {
	case workflows.BatchInferenceInput:
		th := "nil"
		if v.Threshold != nil {
			th = fmt.Sprint(*v.Threshold)
		}
		return "BatchInference " + v.ModelName + " date=" + v.DataDate + " offset=" + v.DataDateOffset + " threshold=" + th
	case workflows.TrainingInput:
		return "Training " + v.ModelName + " date=" + v.DataDate + " offset=" + v.DataDateOffset + " approval=" + v.ApprovalStatus
	}
	return "?"
}

// TestBackfillDates: in order, the last date included when the step lands on it, months keeping the day.
func TestBackfillDates(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		step     backfillStep
		want     []string
	}{
		{"2024-08-01", "2024-10-01", backfillStep{months: 1}, []string{"2024-08-01", "2024-09-01", "2024-10-01"}},
		{"2024-08-15", "2024-10-14", backfillStep{months: 1}, []string{"2024-08-15", "2024-09-15"}},
		{"2024-02-27", "2024-03-01", backfillStep{days: 1}, []string{"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"}},
		{"2024-10-01", "2024-10-20", backfillStep{days: 7}, []string{"2024-10-01", "2024-10-08", "2024-10-15"}},
		{"2024-10-01", "2024-10-01", backfillStep{days: 1}, []string{"2024-10-01"}},
		{"2023-12-01", "2024-02-01", backfillStep{months: 2}, []string{"2023-12-01", "2024-02-01"}},
	} {
		got, err := backfillDates(tc.from, tc.to, tc.step)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("backfillDates(%s, %s, %+v) = %v, %v; want %v", tc.from, tc.to, tc.step, got, err, tc.want)
		}
	}
}

func TestParseEvery(t *testing.T) {
	for s, want := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "5s": 5 * time.Second, "90m": 90 * time.Minute, "1d": 24 * time.Hour} {
		if got, err := parseEvery("--every", s); err != nil || got != want {
			t.Errorf("parseEvery(%q) = %s, %v; want %s", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0d", "0s", "-5s", "1w", "1mo", "d"} {
		if _, err := parseEvery("--every", s); err == nil {
			t.Errorf("parseEvery(%q): no error", s)
		}
	}
}

// TestParityEmitSchedule: `parity emit --schedule` prints the EventBridge Scheduler schedule of the state
// machine, `parity policy --schedule` its role's policy; what EventBridge cannot take is a usage error.
func TestParityEmitSchedule(t *testing.T) {
	emit := []string{"parity", "emit", "--pipeline", "batch-inference", "--schedule", "--model", "churn"}
	role := "arn:aws:iam::000000000000:role/mdlc-scheduler"
	out, _, err := run(t, nil, append(slices.Clone(emit), "--cron", "0 2 * * *", "--data-date-offset", "-1d", "--scheduler-role-arn", role)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ScheduleExpression": "cron(0 2 * * ? *)"`, `"Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:mdlc-batch-inference"`,
		`"RoleArn": "` + role + `"`, `\"DataDateOffset\":\"-1d\",\"ScheduledTime\":\"<aws.scheduler.scheduled-time>\"`} {
		if !strings.Contains(out, want) {
			t.Errorf("emitted schedule lacks %s:\n%s", want, out)
		}
	}
	out, _, err = run(t, nil, "parity", "policy", "--pipeline", "training", "--schedule")
	if err != nil || !strings.Contains(out, `"states:StartExecution"`) || !strings.Contains(out, "stateMachine:mdlc-training") {
		t.Errorf("policy --schedule: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(slices.Clone(emit), "--cron", "0 2 * * *"), "--scheduler-role-arn (MDLC_SCHEDULER_ROLE_ARN) is required"},
		{append(slices.Clone(emit), "--every", "30s", "--scheduler-role-arn", role), "must be whole minutes"},
		{append(slices.Clone(emit), "--cron", "0 2 * * 1", "--scheduler-role-arn", role), "write days by name"},
		{append(slices.Clone(emit), "--scheduler-role-arn", role), "exactly one of a cron expression and an interval"},
		{[]string{"parity", "emit", "--pipeline", "training", "--schedule", "--cron", "0 2 * * *", "--scheduler-role-arn", role}, "--model is required"},
		{[]string{"parity", "deploy", "--schedule"}, "--schedule is for emit and policy"},
	} {
		_, _, err := run(t, nil, tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
