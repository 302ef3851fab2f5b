package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/parity"
	"github.com/mdlc/mdlc/workflows"
)

// Actions of `starter schedule`.
const (
	scheduleCreate   = "create"
	scheduleList     = "list"
	scheduleDescribe = "describe"
	schedulePause    = "pause"
	scheduleUnpause  = "unpause"
	scheduleTrigger  = "trigger"
	scheduleDelete   = "delete"
)

// scheduleActions lists the actions in the order the help names them.
var scheduleActions = []string{scheduleCreate, scheduleList, scheduleDescribe, schedulePause, scheduleUnpause, scheduleTrigger, scheduleDelete}

// Schedule defaults, chosen on purpose (see the schedule command's help and the README):
//   - overlap BUFFER_ALL: a run due while the previous one is still open waits for it and then starts, in
//     order, so that no scheduled date is dropped and one date's retrain has changed the champion before
//     the next date is scored (as backfill does);
//   - catch-up window one interval (--every) or a day (--cron): runs missed while the server was down are
//     started when it is back only that far back, not Temporal's default of a year of runs.
const (
	defaultOverlap         = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
	defaultCronCatchup     = 24 * time.Hour
	minCatchupWindow       = 10 * time.Second // Temporal's minimum
	minScheduleInterval    = time.Second
	scheduleSpecMemo       = "mdlcSpec" // the schedule's memo field with the spec as the user wrote it
	scheduleNoteByStarter  = "starter"  // a pause/unpause note's prefix
	defaultDataDateOffset  = "0d"       // the nominal time's own day
	scheduleCreatedMessage = "Created schedule"
)

// overlapPolicies are the values --overlap takes, in the order the help lists them.
var overlapPolicies = []struct {
	name   string
	policy enumspb.ScheduleOverlapPolicy
}{
	{"buffer-all", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
	{"buffer-one", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
	{"skip", enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	{"allow-all", enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
	{"cancel-other", enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
	{"terminate-other", enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
}

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for _, o := range overlapPolicies {
		if o.policy == p {
			return o.name
		}
	}
	return p.String()
}

func parseOverlap(s string) (enumspb.ScheduleOverlapPolicy, error) {
	var names []string
	for _, o := range overlapPolicies {
		if o.name == s {
			return o.policy, nil
		}
		names = append(names, o.name)
	}
	return 0, usagef("--overlap %s must be one of %s", quote.Value(s), strings.Join(names, ", "))
}

// dayDuration is a whole number of days, which Go's durations do not spell ("7d").
var dayDuration = regexp.MustCompile(`^([0-9]{1,4})d$`)

// parseEvery reads an interval: a Go duration (24h, 90m, 5s) or whole days (1d, 7d).
func parseEvery(flagName, s string) (time.Duration, error) {
	if m := dayDuration.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // the pattern allows digits only
		if n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("%s %s must be a positive duration such as 24h, 90m, 5s or 7d", flagName, quote.Value(s))
	}
	return d, nil
}

// scheduledRequest is the pipeline a schedule or a backfill starts, with its request flags.
type scheduledRequest struct {
	pipeline                  string
	threshold, approvalStatus string
}

func addScheduledRequestFlags(fs *flag.FlagSet, defaultPipeline string) *scheduledRequest {
	r := &scheduledRequest{}
	fs.StringVar(&r.pipeline, "pipeline", defaultPipeline, "`PIPELINE` to run: batch-inference or training")
	fs.StringVar(&r.threshold, "threshold", "", "batch-inference only: AUC in [0, 1] below which the model is retrained (default: the worker's)")
	fs.StringVar(&r.approvalStatus, "approval-status", "", "training only: `STATUS` of the registered version, Approved or PendingManualApproval (default: the worker's)")
	return r
}

// input builds the workflow type and input of the request for model, with either dataDate or (scheduled) a
// DataDateOffset, checked by the workflows' own Validate.
func (r *scheduledRequest) input(model, dataDate, offset string) (workflowType string, in any, err error) {
	p, err := parity.ParsePipeline(r.pipeline)
	if err != nil {
		return "", nil, usagef("--pipeline %s must be batch-inference or training", quote.Value(r.pipeline))
	}
	if p == parity.TrainingPipeline {
		if r.threshold != "" {
			return "", nil, usagef("--threshold is for --pipeline batch-inference: a training run has no AUC threshold")
		}
		t := workflows.TrainingInput{ModelName: model, DataDate: dataDate, DataDateOffset: offset, ApprovalStatus: r.approvalStatus}
		return workflows.TrainingWorkflow, t, invalidRequest(t.Validate())
	}
	if r.approvalStatus != "" {
		return "", nil, usagef("--approval-status is for --pipeline training: a batch-inference run registers no version (its retrain does, with the worker's default)")
	}
	b := workflows.BatchInferenceInput{ModelName: model, DataDate: dataDate, DataDateOffset: offset}
	if r.threshold != "" {
		t, err := parseThreshold(r.threshold)
		if err != nil {
			return "", nil, err
		}
		b.Threshold = &t
	}
	return workflows.BatchInferenceWorkflow, b, invalidRequest(b.Validate())
}

// scheduleFlags are the flags of `schedule create`.
type scheduleFlags struct {
	model, id, cron, every, offset, catchup, overlap string
	req                                              *scheduledRequest
}

func scheduleCommand() *command {
	return &command{
		name:       "schedule",
		args:       "create|list|describe|pause|unpause|trigger|delete [SCHEDULE_ID] [flags]",
		positional: "ACTION [SCHEDULE_ID]",
		summary:    "run a pipeline on a schedule (Temporal Schedules): create, list, describe, pause, trigger, delete",
		help: `Runs a pipeline for a model on a schedule, as a Temporal Schedule.

  create              create a schedule: --model, --pipeline, and --cron or --every (SCHEDULE_ID or --id names
                      it; default <pipeline>-<model>)
  list                list the schedules of the namespace that run an mdlc pipeline
  describe ID         its spec, request, policies, next runs (with their data dates) and recent runs
  pause ID            stop starting runs (runs in progress go on); unpause ID starts them again
  trigger ID          start one run now (its data date is today's, plus the offset)
  delete ID           delete the schedule (its runs are kept, and those in progress go on)

Each run's data date comes from the time the schedule meant it to run (its nominal time), not from the clock
when it starts: the date is the nominal time's day in UTC plus --data-date-offset (e.g. -1d for a daily run
at 02:00 that processes the day before). A run that starts late, or that the schedule catches up on, processes
the date it was scheduled for. The request carries DataDateOffset instead of a DataDate, and the workflow
reads the nominal time from the TemporalScheduledStartTime search attribute the scheduler sets.

Runs are named scheduled-<schedule ID>-<nominal time> and carry the Trigger search attribute
schedule:<schedule ID> (and TemporalScheduledById), so ` + "`starter list`" + ` shows where they came from.

Overlap (--overlap, default buffer-all): a run due while the previous one is still open waits for it and
then starts, in order; no scheduled date is dropped, and a retrain on one date has changed the champion before
the next date is scored. Catch-up window (--catchup-window, default one --every interval, or 24h for --cron):
runs missed while the Temporal server was down are started when it is back only if they were due within
the window (Temporal's own default would start up to a year of missed runs).`,
		examples: []string{
			"starter schedule create --model churn --pipeline batch-inference --cron '0 2 * * *' --data-date-offset -1d --threshold 0.8",
			"starter schedule create --model churn --pipeline training --every 168h --id churn-weekly-training",
			"starter schedule list",
			"starter schedule describe batch-inference-churn",
			"starter schedule pause batch-inference-churn",
			"starter schedule unpause batch-inference-churn",
			"starter schedule trigger batch-inference-churn",
			"starter schedule delete batch-inference-churn",
		},
		setup: func(fs *flag.FlagSet, e *env) action {
			tf, out := addTemporalFlags(fs, e), addOutputFlag(fs)
			f := &scheduleFlags{}
			fs.StringVar(&f.model, "model", "", "create: model `NAME` (required)")
			fs.StringVar(&f.id, "id", "", "create: schedule `ID` (default <pipeline>-<model>); the same as the SCHEDULE_ID argument")
			fs.StringVar(&f.cron, "cron", "", "create: cron `EXPR` (5 fields, UTC), e.g. '0 2 * * *' for 02:00 every day")
			fs.StringVar(&f.every, "every", "", "create: `INTERVAL` between runs, e.g. 24h, 7d, 5s (from the Unix epoch, in UTC)")
			fs.StringVar(&f.offset, "data-date-offset", defaultDataDateOffset, "create: `DAYS` from the nominal time's day to the data date, e.g. -1d")
			fs.StringVar(&f.catchup, "catchup-window", "", "create: how late a missed run may still start, e.g. 1h (default: one --every interval, or 24h with --cron; at least 10s)")
			fs.StringVar(&f.overlap, "overlap", overlapPolicies[0].name, "create: what a run due while the previous one is open does: buffer-all, buffer-one, skip, allow-all, cancel-other or terminate-other")
			f.req = addScheduledRequestFlags(fs, "")
			return func(ctx context.Context, e *env, args []string) error {
				act := args[0]
				id := ""
				if len(args) > 1 {
					id = args[1]
				}
				var opts client.ScheduleOptions
				switch act {
				case scheduleCreate:
					if id != "" && f.id != "" && id != f.id {
						return usagef("schedule create: SCHEDULE_ID %s and --id %s differ: give one", quote.Value(id), quote.Value(f.id))
					}
					if id == "" {
						id = f.id
					}
					var err error
					if opts, err = f.options(id); err != nil {
						return err
					}
				case scheduleList:
					if id != "" {
						return usagef("schedule list takes no SCHEDULE_ID, got %s", quote.Value(id))
					}
					if err := onlyForCreate(fs, act); err != nil {
						return err
					}
				case scheduleDescribe, schedulePause, scheduleUnpause, scheduleTrigger, scheduleDelete:
					if id == "" {
						return usagef("schedule %s needs a SCHEDULE_ID argument, e.g. `starter schedule %s batch-inference-churn`; `starter schedule list` lists them", act, act)
					}
					if err := onlyForCreate(fs, act); err != nil {
						return err
					}
				default:
					return usagef("schedule: unknown action %s: use %s", quote.Value(act), strings.Join(scheduleActions, ", "))
				}
				return temporalAction(tf, out, func(ctx context.Context, e *env, c client.Client, _ []string) error {
					sc := c.ScheduleClient()
					switch act {
					case scheduleCreate:
						if triggerRegistered(ctx, e, c, tf.namespace) {
							markScheduled(&opts)
						}
						return createSchedule(ctx, e, sc, tf, out, opts)
					case scheduleList:
						return listSchedules(ctx, e, sc, tf, out)
					case scheduleDescribe:
						d, err := describeSchedule(ctx, sc, tf, id)
						if err != nil {
							return err
						}
						if out.json() {
							return writeJSON(e.stdout, d)
						}
						fmt.Fprint(e.stdout, formatScheduleDetails(d))
						return nil
					default:
						return changeSchedule(ctx, e, sc, tf, out, act, id)
					}
				})(ctx, e, nil)
			}
		},
	}
}

// createFlags are the flags only `schedule create` takes.
var createFlags = []string{"model", "id", "cron", "every", "data-date-offset", "catchup-window", "overlap", "pipeline", "threshold", "approval-status"}

// onlyForCreate refuses a flag of `schedule create` given to another action, which would ignore it.
func onlyForCreate(fs *flag.FlagSet, act string) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(createFlags, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	if len(given) > 0 {
		return usagef("schedule %s: %s %s for schedule create only; a schedule's settings are changed by deleting and creating it again",
			act, strings.Join(given, ", "), map[bool]string{true: "is", false: "are"}[len(given) == 1])
	}
	return nil
}

// options checks the flags of `schedule create` and builds the schedule.
func (f *scheduleFlags) options(id string) (client.ScheduleOptions, error) {
	if f.model == "" {
		return client.ScheduleOptions{}, usagef("schedule create: --model is required, e.g. --model churn")
	}
	if f.req.pipeline == "" {
		return client.ScheduleOptions{}, usagef("schedule create: --pipeline is required: batch-inference or training")
	}
	if (f.cron == "") == (f.every == "") {
		return client.ScheduleOptions{}, usagef("schedule create: give exactly one of --cron (e.g. '0 2 * * *') and --every (e.g. 24h)")
	}
	if _, err := contract.ParseDataDateOffset(f.offset); err != nil {
		return client.ScheduleOptions{}, usagef("--data-date-offset: %v", err)
	}
	wfType, in, err := f.req.input(f.model, "", f.offset)
	if err != nil {
		return client.ScheduleOptions{}, err
	}
	overlap, err := parseOverlap(f.overlap)
	if err != nil {
		return client.ScheduleOptions{}, err
	}
	if id == "" {
		id = f.req.pipeline + "-" + f.model
	}
	if err := validScheduleID(id); err != nil {
		return client.ScheduleOptions{}, err
	}
	var spec client.ScheduleSpec
	var catchup time.Duration
	var written string
	if f.every != "" {
		every, err := parseEvery("--every", f.every)
		if err != nil {
			return client.ScheduleOptions{}, err
		}
		if every < minScheduleInterval {
			return client.ScheduleOptions{}, usagef("--every %s is shorter than a second", quote.Value(f.every))
		}
		spec = client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
		catchup, written = max(every, minCatchupWindow), "every "+f.every
	} else {
		if n := len(strings.Fields(f.cron)); n != 5 {
			return client.ScheduleOptions{}, usagef("--cron %s must have 5 fields (minute hour day-of-month month day-of-week), e.g. '0 2 * * *', not %d", quote.Value(f.cron), n)
		}
		spec = client.ScheduleSpec{CronExpressions: []string{f.cron}}
		catchup, written = defaultCronCatchup, "cron "+f.cron
	}
	if f.catchup != "" {
		if catchup, err = parseEvery("--catchup-window", f.catchup); err != nil {
			return client.ScheduleOptions{}, err
		}
		if catchup < minCatchupWindow {
			return client.ScheduleOptions{}, usagef("--catchup-window %s must be at least %s (Temporal's minimum)", quote.Value(f.catchup), minCatchupWindow)
		}
	}
	return client.ScheduleOptions{
		ID:   id,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID:        workflows.ScheduledWorkflowID(id),
			Workflow:  wfType,
			Args:      []any{in},
			TaskQueue: workflows.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.ModelNameAttribute.ValueSet(f.model),
			),
		},
		Overlap:       overlap,
		CatchupWindow: catchup,
		Memo:          map[string]any{scheduleSpecMemo: written},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ModelNameAttribute.ValueSet(f.model),
		),
	}, nil
}

// markScheduled gives the runs of the schedule the Trigger search attribute schedule:<schedule ID>.
func markScheduled(opts *client.ScheduleOptions) {
	act := opts.Action.(*client.ScheduleWorkflowAction) // options builds a workflow action
	model, _ := act.TypedSearchAttributes.GetKeyword(workflows.ModelNameAttribute)
	act.TypedSearchAttributes = temporal.NewSearchAttributes(
		workflows.ModelNameAttribute.ValueSet(model),
		workflows.TriggerAttribute.ValueSet(workflows.ScheduleTrigger(opts.ID)),
	)
}

// scheduleIDPattern is what a schedule ID may be: it starts the workflow IDs of its runs.
var scheduleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

func validScheduleID(id string) error {
	if !scheduleIDPattern.MatchString(id) {
		return usagef("schedule ID %s must be 1-200 letters, digits, dots, hyphens and underscores, starting with a letter or digit", quote.Value(id))
	}
	return nil
}

// explainSchedule turns a Temporal error about schedule id into a sentence saying what to do.
func explainSchedule(err error, tf *temporalFlags, id string) error {
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return nil
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists):
		return fmt.Errorf("schedule %q already exists in namespace %q: see it with `starter schedule describe %s`, delete it first, or choose another --id", id, tf.namespace, id)
	case isNotFound(err):
		return fmt.Errorf("no schedule %q in namespace %q: `starter schedule list` lists them", id, tf.namespace)
	default:
		return explainTemporal(err, tf, id)
	}
}

// ScheduleCreated is what `schedule create` prints.
type ScheduleCreated struct {
	ScheduleID string
	Workflow   string
	// WorkflowIDPrefix starts the workflow ID of each run, followed by "-<nominal time>".
	WorkflowIDPrefix string
	Spec             string
	// NextRuns are the schedule's next nominal times with the data dates of their runs.
	NextRuns []ScheduledRun
	URL      string
}

// ScheduledRun is one run of a schedule: its nominal time (for a run `schedule trigger` started, when it was
// triggered), its data date and, once started, its workflow run.
type ScheduledRun struct {
	ScheduledTime time.Time
	DataDate      string
	WorkflowID    string `json:",omitempty"`
	RunID         string `json:",omitempty"`
}

func createSchedule(ctx context.Context, e *env, sc client.ScheduleClient, tf *temporalFlags, out *outputFlag, opts client.ScheduleOptions) error {
	if _, err := sc.Create(ctx, opts); err != nil {
		return explainSchedule(err, tf, opts.ID)
	}
	d, err := describeSchedule(ctx, sc, tf, opts.ID)
	if err != nil {
		return err
	}
	res := ScheduleCreated{ScheduleID: opts.ID, Workflow: d.Workflow, WorkflowIDPrefix: workflows.ScheduledWorkflowID(opts.ID),
		Spec: d.Spec, NextRuns: d.NextRuns, URL: d.URL}
	if out.json() {
		return writeJSON(e.stdout, res)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)\n", scheduleCreatedMessage, res.ScheduleID, res.Workflow)
	field(&b, "spec", res.Spec)
	field(&b, "runs", res.WorkflowIDPrefix+"-<nominal time>")
	for _, r := range res.NextRuns[:min(len(res.NextRuns), shownNextRuns)] {
		field(&b, "next run", r.ScheduledTime.UTC().Format(time.RFC3339)+"  data date "+r.DataDate)
	}
	field(&b, "web UI", res.URL)
	fmt.Fprint(e.stdout, b.String())
	return nil
}

// shownNextRuns is how many of a schedule's next runs the text output shows (JSON has all Temporal returns).
const shownNextRuns = 3

// ScheduleDetails is what `schedule describe` prints.
type ScheduleDetails struct {
	ScheduleID string
	Workflow   string
	ModelName  string
	// Spec is the schedule as created: "every 24h" or "cron 0 2 * * *".
	Spec           string
	DataDateOffset string
	Threshold      *float64 `json:",omitempty"`
	ApprovalStatus string   `json:",omitempty"`
	Overlap        string
	CatchupWindow  string
	Paused         bool
	Note           string `json:",omitempty"`
	// Runs counts the runs the schedule started; Missed those it skipped (overlap) or missed (catch-up window).
	Runs, SkippedOverlap, MissedCatchup int64
	NextRuns                            []ScheduledRun
	RecentRuns                          []ScheduledRun
	Running                             []string `json:",omitempty"`
	URL                                 string
}

func describeSchedule(ctx context.Context, sc client.ScheduleClient, tf *temporalFlags, id string) (*ScheduleDetails, error) {
	desc, err := sc.GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, explainSchedule(err, tf, id)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return nil, fmt.Errorf("schedule %q does not start a workflow: it is no mdlc schedule", id)
	}
	d := &ScheduleDetails{ScheduleID: id, URL: strings.TrimSuffix(tf.uiAddress, "/") + "/namespaces/" + tf.namespace + "/schedules/" + id}
	d.Workflow, _ = action.Workflow.(string)
	if len(action.Args) == 1 {
		if p, ok := action.Args[0].(*commonpb.Payload); ok {
			var req contract.WorkflowInput
			if err := converter.GetDefaultDataConverter().FromPayload(p, &req); err == nil {
				d.ModelName, d.DataDateOffset, d.Threshold, d.ApprovalStatus = req.ModelName, req.DataDateOffset, req.Threshold, req.ApprovalStatus
			}
		}
	}
	if desc.Memo != nil {
		if p, ok := desc.Memo.GetFields()[scheduleSpecMemo]; ok {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &d.Spec) // shown as "-" when unreadable
		}
	}
	if pol := desc.Schedule.Policy; pol != nil {
		d.Overlap, d.CatchupWindow = overlapName(pol.Overlap), pol.CatchupWindow.String()
	}
	if st := desc.Schedule.State; st != nil {
		d.Paused, d.Note = st.Paused, st.Note
	}
	d.Runs, d.SkippedOverlap, d.MissedCatchup = int64(desc.Info.NumActions), int64(desc.Info.NumActionsSkippedOverlap), int64(desc.Info.NumActionsMissedCatchupWindow)
	for _, t := range desc.Info.NextActionTimes {
		d.NextRuns = append(d.NextRuns, ScheduledRun{ScheduledTime: t.UTC(), DataDate: dataDateOf(t, d.DataDateOffset)})
	}
	for _, a := range desc.Info.RecentActions {
		// The scheduler records when it started the run (with jitter, if any); the run's data date comes from
		// its nominal time, which the run's workflow ID ends with.
		r := ScheduledRun{ScheduledTime: a.ScheduleTime.UTC()}
		if w := a.StartWorkflowResult; w != nil {
			r.WorkflowID, r.RunID = w.WorkflowID, w.FirstExecutionRunID
			if suffix, ok := strings.CutPrefix(w.WorkflowID, action.ID+"-"); ok {
				if t, err := time.Parse(time.RFC3339, suffix); err == nil {
					r.ScheduledTime = t.UTC()
				}
			}
		}
		r.DataDate = dataDateOf(r.ScheduledTime, d.DataDateOffset)
		d.RecentRuns = append(d.RecentRuns, r)
	}
	for _, w := range desc.Info.RunningWorkflows {
		d.Running = append(d.Running, w.WorkflowID)
	}
	return d, nil
}

// dataDateOf is the data date of a run scheduled for t, or "-" when the offset is unreadable.
func dataDateOf(t time.Time, offset string) string {
	d, err := contract.ScheduledDataDate(t, offset)
	if err != nil {
		return "-"
	}
	return d
}

func formatScheduleDetails(d *ScheduleDetails) string {
	var b strings.Builder
	state := "active"
	if d.Paused {
		state = "paused"
	}
	fmt.Fprintf(&b, "Schedule %s (%s, %s)\n", d.ScheduleID, d.Workflow, state)
	field(&b, "model", d.ModelName)
	field(&b, "spec", dash(d.Spec))
	field(&b, "data date", "nominal day in UTC "+d.DataDateOffset)
	if d.Threshold != nil {
		field(&b, "threshold", strconv.FormatFloat(*d.Threshold, 'f', -1, 64))
	}
	field(&b, "approval", d.ApprovalStatus)
	field(&b, "overlap", d.Overlap)
	field(&b, "catch-up", d.CatchupWindow)
	field(&b, "note", d.Note)
	field(&b, "runs", fmt.Sprintf("%d started, %d skipped (overlap), %d missed (catch-up window)", d.Runs, d.SkippedOverlap, d.MissedCatchup))
	for _, r := range d.NextRuns[:min(len(d.NextRuns), shownNextRuns)] {
		field(&b, "next run", r.ScheduledTime.Format(time.RFC3339)+"  data date "+r.DataDate)
	}
	for _, r := range d.RecentRuns {
		field(&b, "recent run", r.ScheduledTime.Format(time.RFC3339)+"  data date "+r.DataDate+"  "+r.WorkflowID)
	}
	for _, id := range d.Running {
		field(&b, "running", id)
	}
	field(&b, "web UI", d.URL)
	return b.String()
}

// ScheduleListing is one schedule in `schedule list`.
type ScheduleListing struct {
	ScheduleID string
	Workflow   string
	ModelName  string `json:",omitempty"`
	Spec       string `json:",omitempty"`
	Paused     bool
	NextRun    *time.Time `json:",omitempty"`
}

func listSchedules(ctx context.Context, e *env, sc client.ScheduleClient, tf *temporalFlags, out *outputFlag) error {
	it, err := sc.List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return explainSchedule(err, tf, "")
	}
	var list []ScheduleListing
	for it.HasNext() {
		s, err := it.Next()
		if err != nil {
			return explainSchedule(err, tf, "")
		}
		wf := s.WorkflowType.Name
		if wf != workflows.TrainingWorkflow && wf != workflows.BatchInferenceWorkflow {
			continue
		}
		l := ScheduleListing{ScheduleID: s.ID, Workflow: wf, Paused: s.Paused, ModelName: keyword(s.SearchAttributes, workflows.ModelNameAttribute.GetName())}
		if s.Memo != nil {
			if p, ok := s.Memo.GetFields()[scheduleSpecMemo]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &l.Spec) // shown as "-" when unreadable
			}
		}
		if len(s.NextActionTimes) > 0 {
			t := s.NextActionTimes[0].UTC()
			l.NextRun = &t
		}
		list = append(list, l)
	}
	if out.json() {
		return writeJSON(e.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stderr, "no schedules found")
		return nil
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE ID\tTYPE\tMODEL\tSPEC\tSTATE\tNEXT RUN")
	for _, l := range list {
		state, next := "active", "-"
		if l.Paused {
			state = "paused"
		}
		if l.NextRun != nil {
			next = l.NextRun.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ScheduleID, l.Workflow, dash(l.ModelName), dash(l.Spec), state, next)
	}
	_ = tw.Flush() // writes to a strings.Builder cannot fail
	fmt.Fprint(e.stdout, b.String())
	return nil
}

// ScheduleChanged is what pause, unpause, trigger and delete print.
type ScheduleChanged struct {
	ScheduleID string
	Action     string
}

func changeSchedule(ctx context.Context, e *env, sc client.ScheduleClient, tf *temporalFlags, out *outputFlag, act, id string) error {
	h := sc.GetHandle(ctx, id)
	var err error
	var msg string
	switch act {
	case schedulePause:
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: scheduleNoteByStarter + " schedule pause"})
		msg = "Paused schedule %s: it starts no runs until `starter schedule unpause %[1]s` (runs in progress go on)\n"
	case scheduleUnpause:
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: scheduleNoteByStarter + " schedule unpause"})
		msg = "Unpaused schedule %s: it starts runs again from its next time (the times it passed while paused are not made up)\n"
	case scheduleTrigger:
		// The schedule's own overlap policy applies to the triggered run too.
		err = h.Trigger(ctx, client.ScheduleTriggerOptions{})
		msg = "Triggered schedule %s: a run starts now, for the data date of today (UTC) plus its offset, unless one of its runs is still running and its overlap policy holds the new one back; `starter schedule describe %[1]s` shows which\n"
	case scheduleDelete:
		err = h.Delete(ctx)
		msg = "Deleted schedule %s (its runs are kept, and runs in progress go on)\n"
	}
	if err != nil {
		return explainSchedule(err, tf, id)
	}
	if out.json() {
		return writeJSON(e.stdout, ScheduleChanged{ScheduleID: id, Action: act})
	}
	fmt.Fprintf(e.stdout, msg, id)
	return nil
}
