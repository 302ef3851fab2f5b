package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// Kinds of live events besides the step states (workflows.StepCompleted, StepFailed, StepCanceled).
const (
	eventStarted = "started"
	eventJob     = "job"
	eventSkipped = workflows.StepSkipped
)

// event is one line of a followed run.
type event struct {
	// At is the time since the followed run started; HasAt is false for events without a time (skipped).
	At    time.Duration
	HasAt bool
	Kind  string
	// Step is the step's name, prefixed with the parent step for a child run's steps.
	Step    string
	JobName string
	// Detail is the step's result or error, or the job's status for a job event.
	Detail string
	// Took is how long an ended step ran.
	Took time.Duration
}

// stepColumn is the width of a live line's step field: the longest label a line carries, a retrain child's
// longest step under its parent's ("Re-train Model > Evaluate Re-trained Model"), so that the fields after it
// line up on every line (TestStepColumnFitsEveryStep).
var stepColumn = len(workflows.StepRetrain + childStepSeparator + workflows.StepEvaluate)

// childStepSeparator joins a parent step's name and its child run's step names in live lines.
const childStepSeparator = " > "

// formatEvent renders an event as one line: time since the run started, step, what happened, details.
//
//	+0.0s  Initialize                                 started
//	+1.3s  Train Model                                job        churn-20191001T120001 InProgress (Training)
//	+3.9s  Train Model                                completed  2.6s  artifacts s3://mdlc-local/model/...
//	+5.0s  Re-train Model > Evaluate Re-trained Model completed  0.1s  challenger AUC 0.9314, ...
func formatEvent(ev event) string {
	at := "-"
	if ev.HasAt {
		at = "+" + formatDuration(ev.At)
	}
	var rest []string
	switch ev.Kind {
	case eventStarted:
		rest = []string{ev.JobName}
	case eventJob:
		rest = []string{ev.JobName, ev.Detail}
	case eventSkipped:
		rest = []string{ev.Detail}
	default:
		if ev.Took > 0 {
			rest = append(rest, formatDuration(ev.Took)+" ")
		}
		rest = append(rest, ev.Detail)
	}
	line := fmt.Sprintf("%8s  %-*s %-10s %s", at, stepColumn, ev.Step, ev.Kind, strings.Join(nonEmpty(rest), " "))
	return strings.TrimRight(line, " ")
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// formatDuration renders d to a tenth of a second below a minute, to the second above.
func formatDuration(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// formatStarted says which run train or infer started or attached to.
func formatStarted(s Started) string {
	var b strings.Builder
	if s.Attached {
		fmt.Fprintf(&b, "Attached to the %s run already in progress for this request (not starting a second one)\n", s.Workflow)
	} else {
		fmt.Fprintf(&b, "Started %s run\n", s.Workflow)
	}
	field(&b, "workflow ID", s.WorkflowID)
	field(&b, "run ID", s.RunID)
	field(&b, "web UI", s.URL)
	return b.String()
}

func field(b *strings.Builder, name, value string) {
	if value != "" {
		fmt.Fprintf(b, "  %-16s %s\n", name, value)
	}
}

// formatSummary renders a run's summary; withSteps adds its steps (status prints them, --wait printed them
// live already).
func formatSummary(s *Summary, withSteps bool) string {
	var b strings.Builder
	verb := s.Status
	switch {
	case s.CloseTime != nil && s.Status == "Completed":
		verb += " in " + formatDuration(s.CloseTime.Sub(s.StartTime))
	case s.CloseTime != nil:
		verb += " after " + formatDuration(s.CloseTime.Sub(s.StartTime))
	}
	fmt.Fprintf(&b, "%s %s\n", s.Workflow, verb)
	field(&b, "workflow ID", s.WorkflowID)
	field(&b, "run ID", s.RunID)
	field(&b, "web UI", s.URL)
	if withSteps && len(s.Steps) > 0 {
		b.WriteString("  steps:\n")
		b.WriteString(formatSteps(s.Steps, s.Jobs))
	}
	if t := s.Training; t != nil {
		writeTraining(&b, t, "model version")
	}
	if r := s.Inference; r != nil {
		field(&b, "model scored", fmt.Sprintf("%s (%s)", r.ModelPackageArn, r.SageMakerModelName))
		field(&b, "transform job", r.TransformJobName)
		field(&b, "predictions", r.PredictionS3Uri)
		field(&b, "AUC", fmt.Sprintf("%.4f", r.AUC))
		field(&b, "threshold", fmt.Sprintf("%s (%s)", strconv.FormatFloat(r.Threshold, 'f', -1, 64), r.ThresholdSource))
		rel := ">="
		if r.Decision == workflows.DecisionRetrain || r.Decision == workflows.DecisionRetrainSuppressed {
			rel = "<"
		}
		field(&b, "decision", fmt.Sprintf("%s (AUC %.4f %s threshold)", r.Decision, r.AUC, rel))
		if r.RetrainSuppressed != "" {
			field(&b, "suppressed", strings.TrimPrefix(r.RetrainSuppressed, workflows.SuppressedPrefix))
		}
		if r.RetrainWorkflowID != "" {
			field(&b, "retrain run", strings.TrimSpace(r.RetrainWorkflowID+" "+runIDPart(s.RetrainRunID)))
		}
		if r.Retrain != nil {
			writeTraining(&b, r.Retrain, "new version")
		}
	}
	if s.Decision != "" && s.Inference == nil {
		field(&b, "decision", s.Decision)
	}
	if e := s.Error; e != nil {
		field(&b, "failed step", e.Step)
		msg := e.Message
		if e.Type != "" {
			msg = e.Type + ": " + msg
		}
		field(&b, "error", msg)
	}
	return b.String()
}

func runIDPart(runID string) string {
	if runID == "" {
		return ""
	}
	return "(run ID " + runID + ")"
}

func writeTraining(b *strings.Builder, t *workflows.TrainingResult, versionLabel string) {
	field(b, versionLabel, fmt.Sprintf("%d (%s)", t.ModelPackageVersion, t.ApprovalStatus))
	if t.Approval != nil {
		field(b, "approval", t.Approval.String())
	}
	field(b, "model package", t.ModelPackageArn)
	field(b, "training job", t.TrainingJobName)
	field(b, "sagemaker model", t.SageMakerModelName)
	field(b, "artifacts", t.ModelArtifacts)
	field(b, "metrics", formatMetrics(t.FinalMetrics))
	if e := t.Evaluation; e != nil {
		field(b, "champion", fmt.Sprintf("version %d (%s), AUC %.4f", e.Champion.ModelPackageVersion, e.Champion.SageMakerModelName, e.Champion.AUC))
		field(b, "challenger AUC", fmt.Sprintf("%.4f", e.ChallengerAUC))
		field(b, "margin", strconv.FormatFloat(e.PromotionMargin, 'f', -1, 64))
		field(b, "promotion", e.Reason)
		field(b, "evidence", e.EvaluationS3Uri)
	}
}

// formatMetrics renders metrics sorted by name: "train:logloss=0.3121 validation:logloss=0.3502".
func formatMetrics(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%.4f", n, m[n])
	}
	return strings.Join(parts, " ")
}

// formatSteps renders steps as an indented table, with the live status of the jobs running.
func formatSteps(steps []workflows.Step, jobs []activities.JobProgress) string {
	byName := map[string]activities.JobProgress{}
	for _, j := range jobs {
		byName[j.JobName] = j
	}
	var b strings.Builder
	for _, s := range steps {
		took := ""
		if !s.Started.IsZero() && !s.Ended.IsZero() {
			took = formatDuration(s.Ended.Sub(s.Started))
		}
		detail := nonEmpty([]string{s.JobName, s.Detail})
		if j, ok := byName[s.JobName]; ok && s.State == workflows.StepRunning {
			detail = append(detail, jobStatus(j))
		}
		line := fmt.Sprintf("    %-26s %-9s %6s  %s", s.Name, s.State, took, strings.Join(nonEmpty(detail), " "))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON output: %w", err)
	}
	return nil
}

// reportSummary prints a closed (or running) run's summary and returns a RunFailedError when it did not
// complete.
func reportSummary(e *env, out *outputFlag, s *Summary, withSteps bool) error {
	if out.json() {
		if err := writeJSON(e.stdout, s); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, formatSummary(s, withSteps))
	}
	return runOutcome(s)
}

// runOutcome is nil for a completed or running run and a RunFailedError otherwise.
func runOutcome(s *Summary) error {
	if s.Status == "Completed" || s.Status == "Running" {
		return nil
	}
	msg := fmt.Sprintf("%s run %s %s", s.Workflow, s.WorkflowID, strings.ToLower(s.Status))
	if e := s.Error; e != nil {
		if e.Step != "" {
			msg += " at step " + strconv.Quote(e.Step)
		}
		if e.Type != "" {
			msg += ": " + e.Type
		}
		if e.Message != "" && e.Type != "Canceled" {
			msg += ": " + e.Message
		}
	}
	return &RunFailedError{Status: s.Status, msg: msg}
}
