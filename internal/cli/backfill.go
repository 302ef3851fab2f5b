package cli

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/workflows"
)

// maxBackfillDates bounds how many dates one backfill runs.
const maxBackfillDates = 1000

// backfillStep is --every of backfill: a number of days or of months.
type backfillStep struct{ days, months int }

var backfillStepPattern = regexp.MustCompile(`^([1-9][0-9]{0,2})(d|mo)$`)

func parseBackfillStep(s string) (backfillStep, error) {
	m := backfillStepPattern.FindStringSubmatch(s)
	if m == nil {
		return backfillStep{}, usagef("--every %s must be a number of days or months, e.g. 1d, 7d or 1mo", quote.Value(s))
	}
	n, _ := strconv.Atoi(m[1]) // the pattern allows digits only
	if m[2] == "mo" {
		return backfillStep{months: n}, nil
	}
	return backfillStep{days: n}, nil
}

// backfillDates are the dates from `from` to `to` (both YYYY-MM-DD, to included) every step, in order. A
// monthly step keeps the day of the month, so it refuses a day after the 28th (which some months lack).
func backfillDates(from, to string, step backfillStep) ([]string, error) {
	const layout = "2006-01-02"
	f, err := time.Parse(layout, from)
	if err != nil || f.Format(layout) != from {
		return nil, usagef("--from %s must be a real date written YYYY-MM-DD", quote.Value(from))
	}
	t, err := time.Parse(layout, to)
	if err != nil || t.Format(layout) != to {
		return nil, usagef("--to %s must be a real date written YYYY-MM-DD", quote.Value(to))
	}
	if t.Before(f) {
		return nil, usagef("--to %s is before --from %s", to, from)
	}
	if step.months > 0 && f.Day() > 28 {
		return nil, usagef("--every %dmo keeps the day of the month of --from %s, which some months lack: start on a day up to the 28th", step.months, from)
	}
	var dates []string
	for i := 0; ; i++ {
		d := f.AddDate(0, i*step.months, i*step.days)
		if d.After(t) {
			return dates, nil
		}
		if len(dates) == maxBackfillDates {
			return nil, usagef("--from %s --to %s --every covers more than %d dates: split the backfill", from, to, maxBackfillDates)
		}
		dates = append(dates, d.Format(layout))
	}
}

func backfillCommand() *command {
	return &command{
		name:    "backfill",
		args:    "--model NAME --from YYYY-MM-DD --to YYYY-MM-DD [--every 1d|7d|1mo] [--pipeline P] [flags]",
		summary: "run a pipeline over past dates, in order, one at a time; a rerun skips the dates done",
		help: `Runs a pipeline for a model on each data date from --from to --to (included), every --every (days or
months), in date order and one at a time: each run is started and followed live (as with --wait) until it ends
before the next starts, because a retrain on one date changes the model the next date is scored with.

Each date's run has the ordinary workflow ID (batch-inference-<model>-<date>, training-<model>-<date>) and the
Trigger search attribute backfill. That makes a backfill resumable: running the same command again skips the
dates whose latest run completed, attaches to a run still open, and starts again a date whose run failed, was
canceled or timed out. A date whose run does not complete stops the backfill (exit 3): fix the cause (e.g.
upload the missing data) and run the same command again. A completed date is skipped whatever its input was;
to redo it, start it with train or infer.`,
		examples: []string{
			"starter backfill --model churn --from 2024-08-01 --to 2024-10-01 --every 1mo",
			"starter backfill --model churn --from 2024-10-01 --to 2024-10-07 --threshold 0.8",
			"starter backfill --model churn --pipeline training --from 2024-08-01 --to 2024-10-01 --every 1mo -o json",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			model := fs.String("model", "", "model `NAME` (required)")
			from := fs.String("from", "", "first data date `YYYY-MM-DD` (required)")
			to := fs.String("to", "", "last data date `YYYY-MM-DD`, included (required)")
			every := fs.String("every", "1d", "`STEP` between dates: days (1d, 7d) or months (1mo)")
			req := addScheduledRequestFlags(fs, "batch-inference")
			var dates []string
			check := func() error {
				var missing []string
				for _, f := range []struct{ name, value string }{{"--model", *model}, {"--from", *from}, {"--to", *to}} {
					if f.value == "" {
						missing = append(missing, f.name)
					}
				}
				if len(missing) > 0 {
					return usagef("backfill: %s required, e.g. --model churn --from 2024-08-01 --to 2024-10-01", strings.Join(missing, ", "))
				}
				step, err := parseBackfillStep(*every)
				if err != nil {
					return err
				}
				if dates, err = backfillDates(*from, *to, step); err != nil {
					return err
				}
				_, _, err = req.input(*model, dates[0], "")
				return err
			}
			return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, _ []string) error {
				return backfill(ctx, e, c, tf, out, req, *model, dates)
			}, check)
		},
	}
}

// BackfillDate is one date of a backfill, as `backfill` reports it.
type BackfillDate struct {
	DataDate   string
	WorkflowID string
	RunID      string `json:",omitempty"`
	// Outcome is "done before" (skipped: its latest run had completed), "completed", or the status of the run
	// that stopped the backfill; "not run" for the dates after it.
	Outcome  string
	Decision string `json:",omitempty"`
	// ModelVersion is the version a training run (or a batch-inference run's retrain) registered.
	ModelVersion int32 `json:",omitempty"`
}

// Backfill outcomes of a date.
const (
	backfillSkipped   = "done before"
	backfillCompleted = "completed"
	backfillNotRun    = "not run"
)

func backfill(ctx context.Context, e *env, c client.Client, tf *temporalFlags, out *outputFlag, req *scheduledRequest, model string, dates []string) error {
	live := out.live(e)
	report := make([]BackfillDate, len(dates))
	for i, date := range dates {
		report[i] = BackfillDate{DataDate: date, Outcome: backfillNotRun}
	}
	trigger := ""
	if triggerRegistered(ctx, e, c, tf.namespace) {
		trigger = workflows.TriggerBackfill
	}
	var stop error
	for i, date := range dates {
		wfType, in, err := req.input(model, date, "")
		if err != nil {
			return err
		}
		sr := startRequest{workflowType: wfType, model: model, dataDate: date, input: in, trigger: trigger}
		if wfType == workflows.TrainingWorkflow {
			sr.workflowID = workflows.TrainingWorkflowID(model, date)
			sr.mismatches = decodeInput(in.(workflows.TrainingInput), trainingMismatches)
		} else {
			sr.workflowID = workflows.BatchInferenceWorkflowID(model, date)
			sr.mismatches = decodeInput(in.(workflows.BatchInferenceInput), batchInferenceMismatches)
		}
		report[i].WorkflowID = sr.workflowID
		desc, err := c.DescribeWorkflowExecution(ctx, sr.workflowID, "")
		switch {
		case err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			report[i].RunID, report[i].Outcome = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), backfillSkipped
			fmt.Fprintf(live, "[%d/%d] %s: done before (run %s of %s), skipped\n", i+1, len(dates), date, report[i].RunID, sr.workflowID)
			continue
		case err != nil && !isNotFound(err):
			return explainTemporal(err, tf, sr.workflowID)
		}
		runID, started, err := startWorkflow(ctx, c, tf.namespace, sr)
		if err != nil {
			return explainTemporal(err, tf, sr.workflowID)
		}
		if !started {
			if err := checkAttached(ctx, c, tf.namespace, sr, runID); err != nil {
				return err
			}
		}
		report[i].RunID = runID
		verb := "started"
		if !started {
			verb = "attached to the open run"
		}
		fmt.Fprintf(live, "[%d/%d] %s: %s %s (run %s)\n", i+1, len(dates), date, verb, sr.workflowID, runID)
		sum, err := follow(ctx, c, tf, live, e.stderr, sr.workflowID, runID, nil)
		if err != nil {
			return err
		}
		report[i].Outcome = strings.ToLower(sum.Status)
		if inf := sum.Inference; inf != nil {
			report[i].Decision = inf.Decision
			if inf.Retrain != nil {
				report[i].ModelVersion = inf.Retrain.ModelPackageVersion
			}
		}
		if sum.Training != nil {
			report[i].ModelVersion = sum.Training.ModelPackageVersion
		}
		fmt.Fprintf(live, "[%d/%d] %s: %s\n", i+1, len(dates), date, backfillOutcomeLine(sum))
		if failed := runOutcome(sum); failed != nil {
			stop = &RunFailedError{Status: sum.Status, msg: fmt.Sprintf("backfill stopped at %s (%d of %d dates done): %v; fix the cause and run the same backfill again: it skips the dates done and retries %s",
				date, i, len(dates), failed, date)}
			break
		}
	}
	if out.json() {
		if err := writeJSON(e.stdout, report); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, formatBackfill(report))
	}
	return stop
}

// backfillOutcomeLine says how a date's run ended: its status and, when it completed, what it decided.
func backfillOutcomeLine(s *Summary) string {
	line := strings.ToLower(s.Status)
	if s.CloseTime != nil {
		line += " in " + formatDuration(s.CloseTime.Sub(s.StartTime))
	}
	switch {
	case s.Inference != nil:
		line += fmt.Sprintf(": AUC %.4f, decision %s", s.Inference.AUC, s.Inference.Decision)
		if s.Inference.Retrain != nil {
			line += fmt.Sprintf(", registered version %d", s.Inference.Retrain.ModelPackageVersion)
		}
	case s.Training != nil:
		line += fmt.Sprintf(": registered version %d", s.Training.ModelPackageVersion)
	case s.Error != nil:
		line += ": " + s.Error.Type + ": " + s.Error.Message
	}
	return line
}

func formatBackfill(report []BackfillDate) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATA DATE\tOUTCOME\tDECISION\tVERSION\tWORKFLOW ID\tRUN ID")
	for _, r := range report {
		version := "-"
		if r.ModelVersion != 0 {
			version = strconv.Itoa(int(r.ModelVersion))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.DataDate, r.Outcome, dash(r.Decision), version, dash(r.WorkflowID), dash(r.RunID))
	}
	_ = tw.Flush() // writes to a strings.Builder cannot fail
	return b.String()
}
