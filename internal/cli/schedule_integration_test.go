package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/workflows"
)

// describeSchedule runs `schedule describe ID -o json`.
func describeSchedule(t *testing.T, ctx context.Context, s *stack.Stack, id string) cli.ScheduleDetails {
	t.Helper()
	r := runCLI(ctx, s, "schedule", "describe", id, "-o", "json")
	require.NoError(t, r.err, r.String())
	var d cli.ScheduleDetails
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r.String())
	return d
}

// waitForRuns waits until the schedule has started at least n runs and returns its description; the test's
// context bounds the wait.
func waitForRuns(t *testing.T, ctx context.Context, s *stack.Stack, id string, n int64) cli.ScheduleDetails {
	t.Helper()
	for {
		d := describeSchedule(t, ctx, s, id)
		if d.Runs >= n {
			return d
		}
		select {
		case <-ctx.Done():
			t.Fatalf("schedule %s started %d runs, want %d: %+v", id, d.Runs, n, d)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// requireScheduledRun follows a scheduled run to its end: it must complete, for the data date its nominal
// time (in its workflow ID, and in the schedule's record of it) says, with its search attributes set.
func requireScheduledRun(t *testing.T, ctx context.Context, s *stack.Stack, scheduleID string, run cli.ScheduledRun, offsetDays int, fromSpec bool) {
	t.Helper()
	prefix := workflows.ScheduledWorkflowID(scheduleID) + "-"
	require.True(t, strings.HasPrefix(run.WorkflowID, prefix), "run %s of schedule %s", run.WorkflowID, scheduleID)
	nominal, err := time.Parse(time.RFC3339, strings.TrimPrefix(run.WorkflowID, prefix))
	require.NoError(t, err, "the nominal time in %s", run.WorkflowID)
	require.True(t, nominal.Equal(run.ScheduledTime), "workflow ID %s, scheduled time %s", run.WorkflowID, run.ScheduledTime)
	if fromSpec {
		require.Zero(t, nominal.Unix()%5, "nominal time %s of %s is no multiple of the 5 s interval", nominal, run.WorkflowID)
	}
	want := nominal.UTC().AddDate(0, 0, offsetDays).Format("2006-01-02")
	require.Equal(t, want, run.DataDate, "describe's data date of %s", run.WorkflowID)

	w := runCLI(ctx, s, "watch", run.WorkflowID, "-o", "json")
	require.NoError(t, w.err, w.String())
	var sum cli.Summary
	require.NoError(t, json.Unmarshal([]byte(w.stdout), &sum), w.String())
	require.Equal(t, "Completed", sum.Status)
	require.NotNil(t, sum.Training)
	require.Equal(t, want, sum.Training.DataDate, "the data date %s processed", run.WorkflowID)
	require.Contains(t, sum.Training.TrainingJobName, "sched-")

	l := runCLI(ctx, s, "list", "--model", "sched", "--limit", "1000", "-o", "json")
	require.NoError(t, l.err, l.String())
	var runs []cli.RunListing
	require.NoError(t, json.Unmarshal([]byte(l.stdout), &runs), l.String())
	for _, r := range runs {
		if r.WorkflowID == run.WorkflowID {
			require.Equal(t, want, r.DataDate, "DataDate search attribute of %s", run.WorkflowID)
			require.Equal(t, "schedule:"+scheduleID, r.Trigger, "Trigger search attribute of %s", run.WorkflowID)
			return
		}
	}
	t.Fatalf("starter list --model sched does not list %s:\n%s", run.WorkflowID, l.stdout)
}

// TestScheduleThroughTheCLI: a training schedule every 5 s with a data-date offset of -1d starts runs that
// process the day before their nominal time; pause, trigger, unpause and delete do what they say.
func TestScheduleThroughTheCLI(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The runs' data dates are the day before their nominal times: today's and, should the test cross
	// midnight (UTC), the day after's.
	today := time.Now().UTC()
	seed := runCLI(ctx, s, "seed", "--dates", today.AddDate(0, 0, -1).Format("2006-01-02")+","+today.Format("2006-01-02"), "--train-rows", "2000")
	require.NoError(t, seed.err, seed.String())

	const id = "sched-test"
	// Skip, not the default buffer-all: a 5 s interval would queue runs faster than they finish.
	c := runCLI(ctx, s, "schedule", "create", "--model", "sched", "--pipeline", "training", "--every", "5s", "--data-date-offset", "-1d", "--overlap", "skip", "--id", id)
	require.NoError(t, c.err, c.String())
	t.Logf("schedule create:\n%s", c.stdout)
	requireInOrder(t, c.lines, `^Created schedule sched-test \(Training\)$`, `^\s+spec\s+every 5s$`, `^\s+runs\s+scheduled-sched-test-<nominal time>$`,
		`^\s+next run\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  data date \d{4}-\d\d-\d\d$`)
	list := runCLI(ctx, s, "schedule", "list")
	require.NoError(t, list.err, list.String())
	require.Regexp(t, `(?m)^sched-test\s+Training\s+sched\s+every 5s\s+active\s+`, list.stdout)

	// Two runs of the spec, each for the day before its nominal time.
	d := waitForRuns(t, ctx, s, id, 2)
	require.Equal(t, "skip", d.Overlap)
	require.Equal(t, "-1d", d.DataDateOffset)
	require.Equal(t, "10s", d.CatchupWindow) // Temporal's minimum, above one 5 s interval
	t.Logf("schedule describe: %+v", d)
	for _, r := range d.RecentRuns[:2] {
		requireScheduledRun(t, ctx, s, id, r, -1, true)
	}
	again := runCLI(ctx, s, "schedule", "create", "--model", "sched", "--pipeline", "training", "--every", "5s", "--id", id)
	require.Equal(t, cli.ExitError, again.code, again.String())
	require.Contains(t, again.err.Error(), `schedule "sched-test" already exists`)

	// Paused, the schedule starts nothing by its spec, but trigger starts one run now.
	p := runCLI(ctx, s, "schedule", "pause", id)
	require.NoError(t, p.err, p.String())
	require.Contains(t, p.stdout, "Paused schedule sched-test")
	d = describeSchedule(t, ctx, s, id)
	require.True(t, d.Paused)
	// A run the spec started just before the pause may still be running (on a busy machine it often is):
	// the schedule's overlap policy, skip, would hold the triggered run back. Wait for it to end.
	for len(d.Running) > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("schedule %s still runs %v", id, d.Running)
		case <-time.After(500 * time.Millisecond):
		}
		d = describeSchedule(t, ctx, s, id)
	}
	before := d.Runs
	tr := runCLI(ctx, s, "schedule", "trigger", id)
	require.NoError(t, tr.err, tr.String())
	d = waitForRuns(t, ctx, s, id, before+1)
	triggered := d.RecentRuns[len(d.RecentRuns)-1]
	requireScheduledRun(t, ctx, s, id, triggered, -1, false)
	// The triggered run has ended (requireScheduledRun followed it); a paused schedule starts no other.
	time.Sleep(12 * time.Second) // more than two intervals of the spec
	d = describeSchedule(t, ctx, s, id)
	require.Equal(t, before+1, d.Runs, "runs started while paused: %+v", d.RecentRuns)

	u := runCLI(ctx, s, "schedule", "unpause", id)
	require.NoError(t, u.err, u.String())
	require.False(t, describeSchedule(t, ctx, s, id).Paused)
	d = waitForRuns(t, ctx, s, id, before+2)
	requireScheduledRun(t, ctx, s, id, d.RecentRuns[len(d.RecentRuns)-1], -1, true)

	del := runCLI(ctx, s, "schedule", "delete", id)
	require.NoError(t, del.err, del.String())
	gone := runCLI(ctx, s, "schedule", "describe", id)
	require.Equal(t, cli.ExitError, gone.code, gone.String())
	require.Contains(t, gone.err.Error(), `no schedule "sched-test" in namespace "default"`)
}

// TestBackfillThroughTheCLI: a backfill over three months runs them in order, one after the other; run
// again, it skips them all; a date without data stops a backfill with exit 3 and says how to resume. The
// months are the demo data's first three (internal/demodata drifts away from 2019-10-01: years later every
// holdout label is one class, whose AUC does not exist).
func TestBackfillThroughTheCLI(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dates := []string{"2019-10-01", "2019-11-01", "2019-12-01"}
	seed := runCLI(ctx, s, "seed", "--dates", strings.Join(dates, ","))
	require.NoError(t, seed.err, seed.String())

	// A model to score with: a one-date training backfill.
	tr := runCLI(ctx, s, "backfill", "--model", "bf", "--pipeline", "training", "--from", dates[0], "--to", dates[0])
	require.NoError(t, tr.err, tr.String())
	require.Regexp(t, `(?m)^2019-10-01\s+completed\s+-\s+1\s+training-bf-2019-10-01\s`, tr.stdout)

	// Threshold 0: every date keeps the model, so that the test waits for no retrain.
	args := []string{"backfill", "--model", "bf", "--from", "2019-10-01", "--to", "2019-12-01", "--every", "1mo", "--threshold", "0"}
	b := runCLI(ctx, s, args...)
	require.NoError(t, b.err, b.String())
	t.Logf("backfill:\n%s", b.stdout)
	requireInOrder(t, b.lines,
		`^\[1/3\] 2019-10-01: started batch-inference-bf-2019-10-01 \(run `,
		`^\[1/3\] 2019-10-01: completed in .*: AUC 0\.\d{4}, decision Keep$`,
		`^\[2/3\] 2019-11-01: started batch-inference-bf-2019-11-01 \(run `,
		`^\[2/3\] 2019-11-01: completed in .*: AUC 0\.\d{4}, decision Keep$`,
		`^\[3/3\] 2019-12-01: started batch-inference-bf-2019-12-01 \(run `,
		`^\[3/3\] 2019-12-01: completed in .*: AUC 0\.\d{4}, decision Keep$`,
		`^2019-10-01\s+completed\s+Keep\s`,
		`^2019-11-01\s+completed\s+Keep\s`,
		`^2019-12-01\s+completed\s+Keep\s`,
	)
	// One at a time, in date order: each run started after the one before it had closed.
	var prev *cli.Summary
	runIDs := map[string]string{}
	for _, date := range dates {
		sum := statusJSON(t, s, workflows.BatchInferenceWorkflowID("bf", date))
		require.Equal(t, "Completed", sum.Status)
		require.Equal(t, date, sum.Inference.DataDate)
		if prev != nil {
			require.False(t, sum.StartTime.Before(*prev.CloseTime), "%s started at %s, before %s closed at %s", sum.WorkflowID, sum.StartTime, prev.WorkflowID, *prev.CloseTime)
		}
		runIDs[date] = sum.RunID
		prev = &sum
	}

	// Marked as the backfill's.
	l := runCLI(ctx, s, "list", "--model", "bf")
	require.NoError(t, l.err, l.String())
	for _, date := range dates {
		// The columns between DATA DATE and TRIGGER: AUC, DECISION, VERSION and APPROVAL.
		require.Regexp(t, `(?m)^Completed\s+batch-inference-bf-`+date+`\s+BatchInference\s+bf\s+`+date+`\s+(\S+\s+){4}backfill\s`, l.stdout)
	}

	// Again: nothing to do.
	again := runCLI(ctx, s, append(args, "-o", "json")...)
	require.NoError(t, again.err, again.String())
	var report []cli.BackfillDate
	require.NoError(t, json.Unmarshal([]byte(again.stdout), &report), again.String())
	require.Len(t, report, 3)
	for i, r := range report {
		require.Equal(t, dates[i], r.DataDate)
		require.Equal(t, "done before", r.Outcome)
		require.Equal(t, runIDs[r.DataDate], r.RunID, "the run of %s", r.DataDate)
	}

	// A date without data fails; the backfill stops there and says how to go on.
	stop := runCLI(ctx, s, "backfill", "--model", "bf", "--from", "2019-12-01", "--to", "2020-02-01", "--every", "1mo", "--threshold", "0")
	require.Equal(t, cli.ExitRunFailed, stop.code, stop.String())
	require.Contains(t, stop.err.Error(), "backfill stopped at 2020-01-01 (1 of 3 dates done)")
	require.Contains(t, stop.err.Error(), "DataNotFound")
	require.Contains(t, stop.err.Error(), "run the same backfill again: it skips the dates done and retries 2020-01-01")
	require.Regexp(t, `(?m)^2019-12-01\s+done before\s`, stop.stdout)
	require.Regexp(t, `(?m)^2020-02-01\s+not run\s`, stop.stdout)
}
