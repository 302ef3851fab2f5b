package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// kindResult is the sequential runs of one kind.
type kindResult struct {
	name string
	runs []runStats
}

// throughputResult is one batch of concurrent batch-inference runs.
type throughputResult struct {
	n, models          int
	completed, errors  int
	firstError         string
	startSpan, span    time.Duration
	rssBefore, rssPeak int64
	runs               []runStats
	// cpu is the CPU time each of the stack's processes used during the batch.
	cpu map[string]time.Duration
}

func (t throughputResult) perMinute() float64 {
	if t.span <= 0 {
		return 0
	}
	return float64(t.completed) / t.span.Minutes()
}

// pollResult is the Describe calls of one polling mode.
type pollResult struct {
	name      string
	describes int
	jobs      int
	jobTime   time.Duration
	runs      []runStats
}

// report is everything measured, and how.
type report struct {
	cfg                   config
	started, finished     time.Time
	loadBefore, loadAfter string
	sequential            []kindResult
	throughput            []throughputResult
	polling               []pollResult
	notes                 []string
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func (r *report) write(w io.Writer) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# mdlc benchmarks\n\n")
	p("Orchestration measured against the local stack: the Temporal dev server (SQLite file), localaws and one worker,\n")
	p("each a separate process, started by `internal/stack`. Reproduce from the repository root (needs the Temporal\n")
	p("CLI — `MDLC_TEMPORAL_BIN` or `temporal` on PATH — and `/usr/bin/xgboost`):\n\n")
	p("    go run ./internal/benchmark %s\n\n", strings.Join(r.cfg.args, " "))
	p("Settings: `-sequential %d -models %d -concurrent %s -poll-runs %d`. Data: the demo generator with\n",
		r.cfg.sequential, r.cfg.models, joinInts(r.cfg.sizes), r.cfg.pollRuns)
	p("4,000 training, 1,000 validation and 2,000 holdout rows per date, and the worker trains %d boosting rounds\n", 20)
	p("(`--hyperparameters num_round=20`): small on purpose, so that XGBoost's time does not dominate what is measured.\n\n")
	p("Measured %s to %s on %d × %s; load average (1, 5, 15 min) %s before and %s after.\n",
		r.started.UTC().Format("2006-01-02 15:04"), r.finished.UTC().Format("15:04 MST"), runtime.NumCPU(), cpuModel(), r.loadBefore, r.loadAfter)
	p("The machine is shared with other engineers' builds and tests, so the absolute times are pessimistic.\n\n")
	p("Other benchmarks: [Lambda functions](lambdas/BENCHMARKS.md), [localaws XGBoost runner](localaws/algorithm/BENCHMARKS.md),\n")
	p("[demo data generator](internal/demodata/BENCHMARKS.md).\n\n")

	p("## Orchestration overhead, one run at a time\n\n")
	p("Overhead = the run's wall time (history: start event → close event) minus its SageMaker jobs' own time\n")
	p("(Describe: TrainingStartTime → TrainingEndTime, TransformStartTime → TransformEndTime). It includes the Lambda\n")
	p("steps, the SageMaker API calls, the workflow tasks and the wait for the next poll. Targets: < 1 s for training,\n")
	p("< 2 s for batch inference without retraining.\n\n")
	p("| workflow | runs | wall p50 | job time p50 | overhead p50 | overhead max | target | waiting for the worker p50 | Lambda + API steps p50 | history events |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range r.sequential {
		target := map[string]string{"Training": "< 1 s", "BatchInference (keep)": "< 2 s"}[k.name]
		if target == "" {
			target = "—"
		}
		oh := collect(k.runs, runStats.overhead)
		p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", k.name, len(k.runs),
			secs(percentile(collect(k.runs, func(s runStats) time.Duration { return s.wall }), 50)),
			secs(percentile(collect(k.runs, func(s runStats) time.Duration { return s.job }), 50)),
			secs(percentile(oh, 50)), secs(percentile(oh, 100)), target,
			secs(percentile(collect(k.runs, func(s runStats) time.Duration { return s.waitWorker }), 50)),
			secs(percentile(collect(k.runs, func(s runStats) time.Duration { return s.steps }), 50)), eventsOf(k.runs))
	}
	p("\n\"Waiting for the worker\" sums, over the run's history, every activity's and workflow task's time from\n")
	p("scheduled to started; \"Lambda + API steps\" the running time of the workflow tasks, which run those steps as\n")
	p("local activities (and of the activities that do not wait on a job, in runs recorded before). The rest of the\n")
	p("overhead is mostly the job-completion detection delay below.\n")
	p("\nThe retrain row's job time is the transform job plus the child's training job; its history events are the\n")
	p("parent's (the child's history is a Training run's).\n\n")

	p("## Job-completion detection delay\n\n")
	p("From a job's end (Describe: *EndTime) to the start of the workflow task that takes the waiting activity's\n")
	p("result, where the run goes on with its next step. The waiting activity describes its job right\n")
	p("after creating it, then after 1/8, 1/4 and 1/2 of the poll interval, then every interval, each ±20%%: most of\n")
	p("this delay is the wait for the next poll, which for a job longer than the ramp averages half an interval.\n\n")
	p("| runs | poll interval | jobs | p50 | p95 | max |\n|---|---|---|---|---|---|\n")
	var seq []time.Duration
	for _, k := range r.sequential {
		for _, s := range k.runs {
			seq = append(seq, s.detect...)
		}
	}
	p("| one at a time | 1 s | %d | %s | %s | %s |\n", len(seq), secs(percentile(seq, 50)), secs(percentile(seq, 95)), secs(percentile(seq, 100)))
	for _, t := range r.throughput {
		var d []time.Duration
		for _, s := range t.runs {
			d = append(d, s.detect...)
		}
		p("| %d concurrent | 1 s | %d | %s | %s | %s |\n", t.n, len(d), secs(percentile(d, 50)), secs(percentile(d, 95)), secs(percentile(d, 100)))
	}
	for _, pr := range r.polling {
		if len(pr.runs) > 0 {
			var d []time.Duration
			for _, s := range pr.runs {
				d = append(d, s.detect...)
			}
			p("| %d concurrent training, %s | — | %d | %s | %s | %s |\n", len(pr.runs), pr.name, len(d), secs(percentile(d, 50)), secs(percentile(d, 95)), secs(percentile(d, 100)))
		}
	}

	p("\n## Throughput: concurrent batch-inference runs on one worker\n\n")
	p("N BatchInference runs (threshold 0: no retraining) started at once over M trained models, one worker\n")
	p("(extra flags: %s), all %d processes of the stack on the same %d CPUs. localaws runs\n", workerFlagsText(r.cfg.workerFlags), 3, runtime.NumCPU())
	p("as many jobs at a time as there are CPUs and queues the rest InProgress; \"overhead excl. queue\" also subtracts\n")
	p("each job's wait for a slot (CreationTime → TransformStartTime). Span is from the first start request to the last\n")
	p("run's close; completed/min = completed runs / span. Worker RSS is sampled from /proc every 250 ms.\n\n")
	p("| N | M | completed | errors | span | completed/min | overhead p50 | overhead p95 | overhead excl. queue p95 | waiting for the worker p50 / p95 | Lambda + API steps p50 / p95 | detection delay p95 | worker RSS before → peak |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.throughput {
		oh := collect(t.runs, runStats.overhead)
		nq := collect(t.runs, runStats.overheadNoQueue)
		ww := collect(t.runs, func(s runStats) time.Duration { return s.waitWorker })
		st := collect(t.runs, func(s runStats) time.Duration { return s.steps })
		var d []time.Duration
		for _, s := range t.runs {
			d = append(d, s.detect...)
		}
		p("| %d | %d | %d | %d | %s | %.1f | %s | %s | %s | %s / %s | %s / %s | %s | %.0f → %.0f MiB |\n", t.n, t.models, t.completed, t.errors,
			t.span.Round(time.Second), t.perMinute(), secs(percentile(oh, 50)), secs(percentile(oh, 95)), secs(percentile(nq, 95)),
			secs(percentile(ww, 50)), secs(percentile(ww, 95)), secs(percentile(st, 50)), secs(percentile(st, 95)), secs(percentile(d, 95)),
			float64(t.rssBefore)/(1<<20), float64(t.rssPeak)/(1<<20))
	}
	if len(r.throughput) > 0 {
		p("\nCPU time the stack's processes used during each batch (user + system, from /proc; %d CPUs × span is the\n", runtime.NumCPU())
		p("most there was; each process with its descendants):\n\n| N | span × CPUs | Temporal server (%s) | PostgreSQL | localaws (with XGBoost children's reaped time) | workers (%d) |\n|---|---|---|---|---|---|\n",
			r.cfg.backend, r.cfg.workers)
		for _, t := range r.throughput {
			var workers time.Duration
			for name, c := range t.cpu {
				if strings.HasPrefix(name, "worker") {
					workers += c
				}
			}
			pg := "—"
			if c, ok := t.cpu["postgres"]; ok {
				pg = c.Round(time.Second).String()
			}
			p("| %d | %s | %s | %s | %s | %s |\n", t.n, (t.span * time.Duration(runtime.NumCPU())).Round(time.Second),
				t.cpu["temporal"].Round(time.Second), pg, t.cpu["localaws"].Round(time.Second), workers.Round(time.Second))
		}
	}
	for _, t := range r.throughput {
		if t.firstError != "" {
			p("\nFirst error of the %d-run batch: `%s`\n", t.n, strings.ReplaceAll(t.firstError, "`", "'"))
		}
	}

	p("\n## SageMaker Describe calls per job\n\n")
	p("Counted from localaws's request log (one line per request, with its operation): DescribeTrainingJob and\n")
	p("DescribeTransformJob calls while the runs were open, against the jobs created in that window and their time\n")
	p("from creation to end (the poll schedule is described above). The per-mode stacks run %d training runs at once on 40,000 rows with the workshop's 200 boosting rounds\n", r.cfg.pollRuns)
	p("(the worker's default hyperparameters), so that each job lasts long enough to be polled in the 30 s mode; their\n")
	p("training overhead is measured as above.\n\n")
	p("| mode and workload | jobs | job time (created → end) | Describe calls | per job | per job-minute | training overhead p50 |\n|---|---|---|---|---|---|---|\n")
	for _, pr := range r.polling {
		if len(pr.runs) == 0 {
			continue // the sequential runs' jobs are too short for a per-minute rate
		}
		perJob, perMin := 0.0, 0.0
		if pr.jobs > 0 {
			perJob = float64(pr.describes) / float64(pr.jobs)
		}
		if pr.jobTime > 0 {
			perMin = float64(pr.describes) / pr.jobTime.Minutes()
		}
		oh := "—"
		if len(pr.runs) > 0 {
			oh = secs(percentile(collect(pr.runs, runStats.overhead), 50))
		}
		p("| %s | %d | %s | %d | %.1f | %.1f | %s |\n", pr.name, pr.jobs, pr.jobTime.Round(100*time.Millisecond), pr.describes, perJob, perMin, oh)
	}
	if len(r.notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.notes {
			p("- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func eventsOf(runs []runStats) string {
	if len(runs) == 0 {
		return "—"
	}
	lo, hi := runs[0].events, runs[0].events
	for _, r := range runs {
		lo, hi = min(lo, r.events), max(hi, r.events)
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func workerFlagsText(flags []string) string {
	if len(flags) == 0 {
		return "none: the worker's defaults (`--max-concurrent-activities 200`, `--pollers 8`)"
	}
	return "`" + strings.Join(flags, " ") + "`"
}
