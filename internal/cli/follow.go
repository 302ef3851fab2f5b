package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// Polling of a followed run. Each tick is one DescribeWorkflowExecution and one progress query per run (two
// while a retrain child runs): cheap for the server, and fast enough that a step line appears within a second.
const (
	pollInterval = 500 * time.Millisecond
	// queryTimeout bounds the progress query: it needs a worker, and none may be running.
	queryTimeout = 5 * time.Second
	// maxDescribeFailures is how many ticks in a row Describe may fail (server restarting) before giving up.
	maxDescribeFailures = 20
)

// follower follows a run and its retrain child, printing one line per event to live.
type follower struct {
	c        client.Client
	live     io.Writer
	warn     io.Writer
	interval time.Duration
	// origin is the start of the followed (top-level) run: line times are measured from it.
	origin      time.Time
	queryWarned bool
	// logs, when set, prints the jobs' log lines as they come (--logs); logsWarned says a failure to read
	// them was reported.
	logs       *logPrinter
	logsWarned bool
}

// watched is one run being followed and what has been printed of it.
type watched struct {
	id, runID string
	// path prefixes step names of a child run, e.g. "Re-train Model > ".
	path     string
	desc     *workflowservice.DescribeWorkflowExecutionResponse
	progress workflows.Progress
	queried  bool
	steps    map[string]workflows.Step
	jobs     map[string]string
	child    *watched
}

func newWatched(id, runID, path string) *watched {
	return &watched{id: id, runID: runID, path: path, steps: map[string]workflows.Step{}, jobs: map[string]string{}}
}

func (w *watched) status() enumspb.WorkflowExecutionStatus {
	return w.desc.GetWorkflowExecutionInfo().GetStatus()
}

// follow prints the run's events to live as they happen until it closes, then returns its summary. Warnings
// (a worker that does not answer queries, a server that is briefly away) go to warn.
func follow(ctx context.Context, c client.Client, tf *temporalFlags, live, warn io.Writer, id, runID string, logs *logPrinter) (*Summary, error) {
	f := &follower{c: c, live: live, warn: warn, interval: pollInterval, logs: logs}
	w := newWatched(id, runID, "")
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped following %s; the run goes on: follow it again with `starter watch %s`", id, id)
		case <-timer.C:
		}
		err := f.poll(ctx, w)
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() != nil:
			continue
		case isNotFound(err) || failures >= maxDescribeFailures:
			return nil, explainTemporal(err, tf, id)
		default:
			failures++
			if failures == 1 {
				fmt.Fprintf(warn, "warning: cannot describe %s (%v); retrying\n", id, err)
			}
		}
		if w.desc != nil && w.status() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return summarize(ctx, c, tf, w)
		}
		timer.Reset(f.interval)
	}
}

// poll describes and queries w (and its child) once and prints what changed.
func (f *follower) poll(ctx context.Context, w *watched) error {
	desc, err := f.c.DescribeWorkflowExecution(ctx, w.id, w.runID)
	if err != nil {
		return err
	}
	w.desc = desc
	if w.runID == "" {
		w.runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	if f.origin.IsZero() {
		f.origin = desc.GetWorkflowExecutionInfo().GetStartTime().AsTime()
	}
	if p, err := queryProgress(ctx, f.c, w.id, w.runID); err == nil {
		w.progress, w.queried = p, true
	} else if ctx.Err() == nil && !f.queryWarned {
		f.queryWarned = true
		fmt.Fprintf(f.warn, "warning: %s does not answer the progress query (%v); is the worker running?\n", w.id, err)
	}
	f.emit(ctx, w)
	return nil
}

// printLogs prints the new lines of the log of step s's job (--logs), after the step's own lines, so that a
// job's log stands under its step.
func (f *follower) printLogs(ctx context.Context, w *watched, s workflows.Step) {
	group, ok := logSteps[s.Name]
	if f.logs == nil || !ok || s.JobName == "" {
		return
	}
	if err := f.logs.print(ctx, jobLog{step: w.path + s.Name, job: s.JobName, group: group}, false); err != nil && ctx.Err() == nil && !f.logsWarned {
		f.logsWarned = true
		fmt.Fprintf(f.warn, "warning: cannot read the job logs of %s (%v); following the run without them\n", w.id, err)
	}
}

// queryProgress asks a run for its Progress.
func queryProgress(ctx context.Context, c client.Client, id, runID string) (workflows.Progress, error) {
	var p workflows.Progress
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, id, runID, workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	err = v.Get(&p)
	return p, err
}

// runningJobs returns the heartbeat details (activities.JobProgress) of w's pending activities by job name.
func runningJobs(desc *workflowservice.DescribeWorkflowExecutionResponse) map[string]activities.JobProgress {
	jobs := map[string]activities.JobProgress{}
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetHeartbeatDetails() == nil {
			continue
		}
		var jp activities.JobProgress
		if err := converter.GetDefaultDataConverter().FromPayloads(pa.GetHeartbeatDetails(), &jp); err != nil || jp.JobName == "" {
			continue
		}
		jobs[jp.JobName] = jp
	}
	return jobs
}

// emit prints the events between what was printed of w and its latest progress, in step order. A retrain
// step's child is followed inside it: its lines come after the step's start and before its end.
func (f *follower) emit(ctx context.Context, w *watched) {
	jobs := runningJobs(w.desc)
	for _, s := range w.progress.Steps {
		old, seen := w.steps[s.Name]
		w.steps[s.Name] = s
		wasRunning := seen && old.State == workflows.StepRunning
		switch s.State {
		case workflows.StepRunning:
			if !wasRunning {
				f.print(w, event{Kind: eventStarted, Step: s.Name, JobName: s.JobName}, s.Started)
			}
			if jp, ok := jobs[s.JobName]; ok && s.JobName != "" {
				st := jobStatus(jp)
				if st != "" && w.jobs[s.JobName] != st {
					w.jobs[s.JobName] = st
					f.print(w, event{Kind: eventJob, Step: s.Name, JobName: s.JobName, Detail: st}, time.Now())
				}
			}
			if s.Name == workflows.StepRetrain && s.JobName != "" {
				f.followChild(ctx, w, s.JobName)
			}
			f.printLogs(ctx, w, s)
		case workflows.StepCompleted, workflows.StepFailed, workflows.StepCanceled:
			if seen && old.State == s.State {
				continue
			}
			if !wasRunning && !s.Started.IsZero() {
				f.print(w, event{Kind: eventStarted, Step: s.Name, JobName: s.JobName}, s.Started)
			}
			if s.Name == workflows.StepRetrain && s.JobName != "" {
				f.followChild(ctx, w, s.JobName)
			}
			var took time.Duration
			if !s.Started.IsZero() && !s.Ended.IsZero() {
				took = s.Ended.Sub(s.Started)
			}
			f.print(w, event{Kind: s.State, Step: s.Name, JobName: s.JobName, Detail: s.Detail, Took: took}, s.Ended)
			f.printLogs(ctx, w, s)
		case workflows.StepSkipped:
			if !seen || old.State != s.State {
				f.print(w, event{Kind: eventSkipped, Step: s.Name, Detail: s.Detail}, time.Time{})
			}
		}
	}
}

// followChild polls the retrain child of w, finding its run ID first.
func (f *follower) followChild(ctx context.Context, w *watched, childID string) {
	if w.child == nil {
		runID := childRunID(ctx, f.c, w, childID)
		if runID == "" {
			return // initiated, not started yet: the next tick finds it
		}
		w.child = newWatched(childID, runID, w.path+workflows.StepRetrain+childStepSeparator)
	}
	if err := f.poll(ctx, w.child); err != nil && ctx.Err() == nil {
		fmt.Fprintf(f.warn, "warning: cannot follow retrain run %s: %v\n", childID, err)
	}
}

// childRunID returns the run ID of w's child childID: from w's pending children while it runs, else from w's
// history (a child that ended between two ticks).
func childRunID(ctx context.Context, c client.Client, w *watched, childID string) string {
	if w.child != nil {
		return w.child.runID
	}
	for _, pc := range w.desc.GetPendingChildren() {
		if pc.GetWorkflowId() == childID {
			return pc.GetRunId()
		}
	}
	iter := c.GetWorkflowHistory(ctx, w.id, w.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return ""
		}
		if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil && a.GetWorkflowExecution().GetWorkflowId() == childID {
			return a.GetWorkflowExecution().GetRunId()
		}
	}
	return ""
}

// jobStatus renders a job's heartbeat: "InProgress (Training)".
func jobStatus(jp activities.JobProgress) string {
	switch {
	case jp.Status == "":
		return ""
	case jp.SecondaryStatus != "" && jp.SecondaryStatus != jp.Status:
		return jp.Status + " (" + jp.SecondaryStatus + ")"
	default:
		return jp.Status
	}
}

func (f *follower) print(w *watched, ev event, at time.Time) {
	if !at.IsZero() {
		ev.At = max(at.Sub(f.origin), 0)
		ev.HasAt = true
	}
	ev.Step = w.path + ev.Step
	fmt.Fprintln(f.live, formatEvent(ev))
}

// Summary is a run as the starter reports it: `status`, and the end of `--wait` and `watch`.
type Summary struct {
	WorkflowID string
	RunID      string
	Workflow   string
	// Status is Running, Completed, Failed, Canceled, Terminated, TimedOut or ContinuedAsNew.
	Status    string
	URL       string
	Attached  bool       `json:",omitempty"`
	StartTime time.Time  `json:",omitempty"`
	CloseTime *time.Time `json:",omitempty"`
	// Steps are the run's steps from its progress query (empty when no worker answered it).
	Steps    []workflows.Step
	Decision string `json:",omitempty"`
	// Jobs are the SageMaker jobs the run waits on now, from its pending activities' heartbeats.
	Jobs      []activities.JobProgress        `json:",omitempty"`
	Training  *workflows.TrainingResult       `json:",omitempty"`
	Inference *workflows.BatchInferenceResult `json:",omitempty"`
	// RetrainRunID is the run ID of the retrain child of a batch-inference run.
	RetrainRunID string    `json:",omitempty"`
	Error        *RunError `json:",omitempty"`
}

// RunError is why a run did not complete.
type RunError struct {
	// Step is the step that failed or was canceled, when the progress says.
	Step    string `json:",omitempty"`
	Type    string
	Message string
}

// summarize builds the Summary of w, fetching the result or error of a closed run.
func summarize(ctx context.Context, c client.Client, tf *temporalFlags, w *watched) (*Summary, error) {
	info := w.desc.GetWorkflowExecutionInfo()
	s := &Summary{
		WorkflowID: w.id, RunID: w.runID, Workflow: info.GetType().GetName(), Status: info.GetStatus().String(),
		URL: tf.runURL(w.id, w.runID), StartTime: info.GetStartTime().AsTime(),
		Steps: w.progress.Steps, Decision: w.progress.Decision,
	}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		s.CloseTime = &t
	}
	for _, jp := range runningJobs(w.desc) {
		s.Jobs = append(s.Jobs, jp)
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return s, nil
	}
	run := c.GetWorkflow(ctx, w.id, w.runID)
	var err error
	switch s.Workflow {
	case workflows.TrainingWorkflow:
		var r workflows.TrainingResult
		if err = run.Get(ctx, &r); err == nil {
			s.Training = &r
		}
	case workflows.BatchInferenceWorkflow:
		var r workflows.BatchInferenceResult
		if err = run.Get(ctx, &r); err == nil {
			s.Inference = &r
			if r.RetrainWorkflowID != "" {
				s.RetrainRunID = childRunID(ctx, c, w, r.RetrainWorkflowID)
			}
		}
	default:
		err = run.Get(ctx, nil)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.Error = runError(err)
		s.Error.Step = failedStep(s.Steps)
		if s.Error.Type == "" {
			return nil, fmt.Errorf("get the result of %s: %w", w.id, err)
		}
	}
	return s, nil
}

// runError describes a run's failure: its application error's type and message, or how it ended.
func runError(err error) *RunError {
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	var terminated *temporal.TerminatedError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app):
		return &RunError{Type: app.Type(), Message: app.Message()}
	case errors.As(err, &canceled):
		return &RunError{Type: "Canceled", Message: "the run was canceled"}
	case errors.As(err, &terminated):
		return &RunError{Type: "Terminated", Message: "the run was terminated"}
	case errors.As(err, &timeout):
		return &RunError{Type: "TimedOut", Message: "the run timed out (" + timeout.TimeoutType().String() + ")"}
	default:
		return &RunError{Message: err.Error()}
	}
}

// failedStep is the last step that failed or was canceled.
func failedStep(steps []workflows.Step) string {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].State == workflows.StepFailed || steps[i].State == workflows.StepCanceled {
			return steps[i].Name
		}
	}
	return ""
}

// isNotFound reports whether err says the workflow does not exist.
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
