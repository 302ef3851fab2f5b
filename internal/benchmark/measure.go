package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// Worker flags of every stack: 20 boosting rounds keep XGBoost's share of a run small.
var workerArgs = []string{"--hyperparameters", "num_round=20"}

// runStats is what one finished run measured.
type runStats struct {
	id string
	// wall is from the run's start event to its close event.
	wall time.Duration
	// job is the SageMaker time of the run's own jobs (End − Start, summed); queued the time they waited for
	// a localaws job slot (Start − Created).
	job, queued time.Duration
	// detect are the delays from each job's end to the next event the run scheduled.
	detect []time.Duration
	events int
	// waitWorker is the time the run's tasks waited for the worker to pick them up (schedule → start of every
	// activity and workflow task); steps the time its Lambda and single-call API activities ran.
	waitWorker, steps time.Duration
}

func (s runStats) overhead() time.Duration        { return s.wall - s.job }
func (s runStats) overheadNoQueue() time.Duration { return s.wall - s.job - s.queued }

// measure runs every phase and fills r; an error ends the run early with what was measured so far.
func measure(ctx context.Context, cfg config, r *report, logf func(string, ...any)) error {
	logf("starting the local stack (1 s polling)")
	args := append(append([]string(nil), workerArgs...), cfg.workerFlags...)
	h, err := harness.Start(ctx, harness.Options{Dir: stackDir(cfg, "local"), Data: harness.SmallData(), WorkerArgs: args,
		Backend: cfg.backend, Workers: cfg.workers})
	if err != nil {
		return err
	}
	defer h.Close()

	// Sequential runs: training, then batch inference that keeps and that retrains.
	seqStart := time.Now()
	kinds := []struct {
		name      string
		start     func(i int) (client.WorkflowRun, error)
		threshold float64
	}{
		{"Training", func(i int) (client.WorkflowRun, error) {
			return h.Train(ctx, fmt.Sprintf("seq-train-%d", i), fmt.Sprintf("seq%d", i), "2019-10-01")
		}, 0},
		{"BatchInference (keep)", func(i int) (client.WorkflowRun, error) {
			return h.Infer(ctx, fmt.Sprintf("seq-keep-%d", i), fmt.Sprintf("seq%d", i), "2019-11-01", 0)
		}, 0},
		{"BatchInference (retrain)", func(i int) (client.WorkflowRun, error) {
			return h.Infer(ctx, fmt.Sprintf("seq-retrain-%d", i), fmt.Sprintf("seq%d", i), "2019-11-01", 1)
		}, 1},
	}
	var seqRuns [][]client.WorkflowRun
	for _, k := range kinds {
		logf("%d sequential %s runs", cfg.sequential, k.name)
		var runs []client.WorkflowRun
		for i := range cfg.sequential {
			run, err := k.start(i)
			if err != nil {
				return fmt.Errorf("start %s: %w", k.name, err)
			}
			if err := run.Get(ctx, nil); err != nil {
				return fmt.Errorf("%s run %s: %w", k.name, run.GetID(), err)
			}
			runs = append(runs, run)
		}
		seqRuns = append(seqRuns, runs)
	}
	seqEnd := time.Now()
	jobs, err := h.Jobs(ctx)
	if err != nil {
		return err
	}
	byRun := harness.JobsByWorkflow(jobs)
	for i, k := range kinds {
		kr := kindResult{name: k.name}
		for j, run := range seqRuns[i] {
			ids := []string{run.GetID()}
			if k.threshold == 1 {
				ids = append(ids, workflows.RetrainWorkflowID(fmt.Sprintf("seq%d", j)))
			}
			st, err := stats(ctx, h, run.GetID(), run.GetRunID(), byRun, ids)
			if err != nil {
				return err
			}
			kr.runs = append(kr.runs, st)
		}
		r.sequential = append(r.sequential, kr)
	}
	reqs, err := h.Requests()
	if err != nil {
		return err
	}
	r.polling = append(r.polling, pollingResult(fmt.Sprintf("local (--poll-interval 1s), the %d sequential runs", 3*cfg.sequential), reqs, jobs, seqStart, seqEnd))

	// Concurrent batch inference over cfg.models models (the sequential phase trained seq0..seq<n-1>; train
	// the rest).
	logf("training %d models for the concurrent runs", cfg.models)
	var trains []client.WorkflowRun
	for i := range cfg.models {
		run, err := h.Train(ctx, fmt.Sprintf("tp-train-%d", i), fmt.Sprintf("tp%d", i), "2019-10-01")
		if err != nil {
			return fmt.Errorf("start training: %w", err)
		}
		trains = append(trains, run)
	}
	for _, run := range trains {
		if err := run.Get(ctx, nil); err != nil {
			return fmt.Errorf("training run %s: %w", run.GetID(), err)
		}
	}
	for _, n := range cfg.sizes {
		logf("%d concurrent batch-inference runs over %d models", n, cfg.models)
		tr, err := throughput(ctx, h, cfg, n)
		if err != nil {
			return err
		}
		r.throughput = append(r.throughput, tr)
		logf("%d runs: %d completed, %d errors, %.1f/min", n, tr.completed, tr.errors, tr.perMinute())
	}

	if cfg.skipPoll {
		return nil
	}
	h.Close()
	for _, mode := range []struct{ name, interval string }{
		{"--poll-interval 250ms", "250ms"}, {"local (--poll-interval 1s)", "1s"}, {"AWS (--poll-interval 30s)", "30s"},
	} {
		logf("polling mode %s: %d concurrent training runs", mode.name, cfg.pollRuns)
		p, err := pollingMode(ctx, cfg, mode.name, mode.interval)
		if err != nil {
			return err
		}
		r.polling = append(r.polling, p)
	}
	return nil
}

// throughput starts n batch-inference runs at once over cfg.models models and waits for them, sampling the
// worker's resident memory.
func throughput(ctx context.Context, h *harness.Harness, cfg config, n int) (throughputResult, error) {
	tr := throughputResult{n: n, models: cfg.models}
	pids, err := h.PIDs()
	if err != nil {
		return tr, err
	}
	pid, ok := pids["worker"]
	if !ok {
		return tr, errors.New("no running worker")
	}
	cpu0 := map[string]time.Duration{}
	for name, p := range pids {
		cpu0[name], _ = harness.TreeCPUTime(p)
	}
	var peak atomic.Int64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if rss, err := harness.RSS(pid); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	before, _ := harness.RSS(pid)
	tr.rssBefore = before

	start := time.Now()
	runs := make([]client.WorkflowRun, n)
	startErrs := make([]error, n)
	var starters sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range n {
		sem <- struct{}{}
		starters.Go(func() {
			defer func() { <-sem }()
			runs[i], startErrs[i] = h.Infer(ctx, fmt.Sprintf("tp%d-%d", n, i), fmt.Sprintf("tp%d", i%cfg.models), "2019-11-01", 0)
		})
	}
	starters.Wait()
	tr.startSpan = time.Since(start)

	waitCtx, cancel := context.WithTimeout(ctx, cfg.deadline)
	defer cancel()
	results := make([]error, n)
	var waiters sync.WaitGroup
	for i, run := range runs {
		if startErrs[i] != nil {
			results[i] = startErrs[i]
			continue
		}
		waiters.Go(func() { results[i] = run.Get(waitCtx, nil) })
	}
	waiters.Wait()
	tr.span = time.Since(start)
	tr.cpu = map[string]time.Duration{}
	for name, p := range pids {
		if c, err := harness.TreeCPUTime(p); err == nil {
			tr.cpu[name] = c - cpu0[name]
		}
	}
	stopSampling()
	sampler.Wait()
	tr.rssPeak = peak.Load()
	for _, err := range results {
		if err == nil {
			tr.completed++
		} else {
			tr.errors++
			if tr.firstError == "" {
				tr.firstError = err.Error()
			}
		}
	}

	jobs, err := h.Jobs(ctx)
	if err != nil {
		return tr, err
	}
	byRun := harness.JobsByWorkflow(jobs)
	for i, run := range runs {
		if startErrs[i] != nil || results[i] != nil {
			continue
		}
		st, err := stats(ctx, h, run.GetID(), run.GetRunID(), byRun, []string{run.GetID()})
		if err != nil {
			return tr, err
		}
		tr.runs = append(tr.runs, st)
	}
	return tr, nil
}

// PollData is the training data of the polling comparison: 40,000 rows with the workshop's 200 boosting
// rounds, so that a job runs long enough (tens of seconds here) for the 30 s mode to poll it more than once.
func pollData() demodata.Config {
	cfg := harness.SmallData()
	cfg.Dates, cfg.TrainRows = []string{"2019-10-01"}, 40_000
	return cfg
}

// pollingMode starts a stack whose worker polls every interval, runs cfg.pollRuns training runs at once and
// counts the Describe calls localaws answered while they ran.
func pollingMode(ctx context.Context, cfg config, name, interval string) (pollResult, error) {
	h, err := harness.Start(ctx, harness.Options{Dir: stackDir(cfg, "poll-"+interval), Data: pollData(), WorkerArgs: []string{"--poll-interval", interval}})
	if err != nil {
		return pollResult{}, err
	}
	defer h.Close()
	start := time.Now()
	var runs []client.WorkflowRun
	for i := range cfg.pollRuns {
		run, err := h.Train(ctx, fmt.Sprintf("poll-%d", i), fmt.Sprintf("poll%d", i), "2019-10-01")
		if err != nil {
			return pollResult{}, fmt.Errorf("start training: %w", err)
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		if err := run.Get(ctx, nil); err != nil {
			return pollResult{}, fmt.Errorf("training run %s: %w", run.GetID(), err)
		}
	}
	end := time.Now()
	jobs, err := h.Jobs(ctx)
	if err != nil {
		return pollResult{}, err
	}
	reqs, err := h.Requests()
	if err != nil {
		return pollResult{}, err
	}
	p := pollingResult(name, reqs, jobs, start, end)
	byRun := harness.JobsByWorkflow(jobs)
	for _, run := range runs {
		st, err := stats(ctx, h, run.GetID(), run.GetRunID(), byRun, []string{run.GetID()})
		if err != nil {
			return pollResult{}, err
		}
		p.runs = append(p.runs, st)
	}
	return p, nil
}

// pollingResult counts the Describe*Job calls between start and end against the jobs created in that window.
func pollingResult(name string, reqs []harness.Request, jobs []harness.Job, start, end time.Time) pollResult {
	p := pollResult{name: name}
	for _, r := range reqs {
		if r.Time.Before(start) || r.Time.After(end) {
			continue
		}
		if r.Operation == "DescribeTrainingJob" || r.Operation == "DescribeTransformJob" {
			p.describes++
		}
	}
	for _, j := range jobs {
		if j.Created.Before(start) || j.Created.After(end) || j.End.IsZero() {
			continue
		}
		p.jobs++
		p.jobTime += j.End.Sub(j.Created)
	}
	return p
}

// stats measures one closed run from its history and its jobs (those of the runs ids: the run and, for a
// retraining run, its child).
func stats(ctx context.Context, h *harness.Harness, id, runID string, byRun map[string][]harness.Job, ids []string) (runStats, error) {
	events, err := h.History(ctx, id, runID)
	if err != nil {
		return runStats{}, err
	}
	st := runStats{id: id, events: len(events)}
	if len(events) < 2 {
		return st, fmt.Errorf("history of %s has %d events", id, len(events))
	}
	st.wall = events[len(events)-1].GetEventTime().AsTime().Sub(events[0].GetEventTime().AsTime())
	var own []harness.Job
	for _, wid := range ids {
		for _, j := range byRun[wid] {
			st.job += j.End.Sub(j.Start)
			st.queued += j.Start.Sub(j.Created)
		}
		if wid == id {
			own = byRun[wid]
		}
	}
	st.detect = detectionDelays(events, own)
	st.waitWorker, st.steps = breakdown(events)
	return st, nil
}

// breakdown sums, over a history, how long tasks waited to be picked up by a worker (ActivityTaskScheduled →
// ActivityTaskStarted, WorkflowTaskScheduled → WorkflowTaskStarted) and how long the Lambda and API steps
// ran: the workflow tasks (started → completed; the steps run in them as local activities, and the workflow
// code's own time is negligible beside them) and, in runs recorded before local steps, the activities that
// do not wait on a job (started → completed).
func breakdown(events []*historypb.HistoryEvent) (wait, steps time.Duration) {
	at := map[int64]*historypb.HistoryEvent{}
	for _, e := range events {
		at[e.GetEventId()] = e
		since := func(id int64) time.Duration {
			if from, ok := at[id]; ok {
				return e.GetEventTime().AsTime().Sub(from.GetEventTime().AsTime())
			}
			return 0
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			wait += since(e.GetActivityTaskStartedEventAttributes().GetScheduledEventId())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			wait += since(e.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			steps += since(e.GetWorkflowTaskCompletedEventAttributes().GetStartedEventId())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := e.GetActivityTaskCompletedEventAttributes()
			if sched, ok := at[a.GetScheduledEventId()]; ok && !harness.JobActivities[sched.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()] {
				steps += since(a.GetStartedEventId())
			}
		}
	}
	return wait, steps
}

// detectionDelays returns, for each job activity in events, the time from its job's end to the start of the
// workflow task that took the activity's result (where the run goes on with its next step).
func detectionDelays(events []*historypb.HistoryEvent, jobs []harness.Job) []time.Duration {
	types := map[int64]string{}
	var out []time.Duration
	for i, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			types[e.GetEventId()] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			kind := map[string]string{"TrainModel": "training", "BatchTransform": "transform"}[types[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]]
			if kind == "" {
				continue
			}
			var end time.Time
			for _, j := range jobs {
				if j.Kind == kind {
					end = j.End
				}
			}
			if end.IsZero() {
				continue
			}
			for _, next := range events[i+1:] {
				if next.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED {
					out = append(out, next.GetEventTime().AsTime().Sub(end))
					break
				}
			}
		}
	}
	return out
}

// percentile returns the p-th percentile (0..100, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(p/100*float64(len(s))+0.5) - 1
	k = max(0, min(k, len(s)-1))
	return s[k]
}

// collect returns f of each run.
func collect(runs []runStats, f func(runStats) time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(runs))
	for _, r := range runs {
		out = append(out, f(r))
	}
	return out
}
