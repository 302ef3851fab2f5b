package reliability_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// TestWorkerKilledAtRandomPoints runs waves of Training and BatchInference runs concurrently (some retrain,
// so the retrain child's training is hit too) and kills the worker with SIGKILL at seeded random points: a
// random number of job creations into each wave, a random delay after a Create call returned, and again during
// the retrain children's training, and at a random moment of each wave's first seconds. Every run must complete, and every logical run must own exactly one job of
// each kind it needs, counted through the SageMaker API by the mdlc:run tag.
func TestWorkerKilledAtRandomPoints(t *testing.T) {
	workerKilledAtRandomPoints(t, stack.BackendDev, 1, 8, 2)
}

// workerKilledAtRandomPoints is TestWorkerKilledAtRandomPoints on a backend with workers workers (each kill
// hits one of them, drawn at random), perWave pairs of runs per wave and waves waves.
func workerKilledAtRandomPoints(t *testing.T, backend stack.Backend, workers, perWave, waves int) {
	// 100 boosting rounds: short jobs, still long enough (and queued behind localaws's job slots) for kills to
	// land while runs wait on them.
	h := startWith(t, harness.Options{Data: harness.SmallData(), WorkerArgs: []string{"--hyperparameters", "num_round=100"},
		Backend: backend, Workers: workers})
	rng := seeded(t)
	ctx, cancel := progressContext(3*time.Minute, 45*time.Minute, runsProgress(h))
	defer cancel()

	// Base models for the batch-inference runs, trained without faults.
	var base []client.WorkflowRun
	for i := range perWave {
		r, err := h.Train(ctx, fmt.Sprintf("base%d", i), fmt.Sprintf("base%d", i), "2019-10-01")
		require.NoError(t, err)
		base = append(base, r)
	}
	for _, o := range waitAll(ctx, base) {
		require.NoError(t, o.err, o.id)
	}

	want := map[string]struct{ training, transform int }{}
	for i := range perWave {
		want[fmt.Sprintf("base%d", i)] = struct{ training, transform int }{1, 0}
	}
	kills := 0
	for w := range waves {
		waveStart := time.Now()
		var runs []client.WorkflowRun
		var ids []string
		retrains := 0
		for i := range perWave {
			id := fmt.Sprintf("w%dt%d", w, i)
			r, err := h.Train(ctx, id, id, "2019-10-01")
			require.NoError(t, err)
			runs, ids = append(runs, r), append(ids, id)
			want[id] = struct{ training, transform int }{1, 0}

			id = fmt.Sprintf("w%db%d", w, i)
			threshold := 0.0 // keep
			if i%2 == 0 {
				threshold = 1.0 // AUC < 1: retrain
				retrains++
				// One retrain of base<i> per wave: its workflow ID is the model's, reused wave after wave.
				rid := workflows.RetrainWorkflowID(fmt.Sprintf("base%d", i))
				ids = append(ids, rid)
				// The retrain trains the challenger and evaluates it with a transform job of its own.
				cur := want[rid]
				cur.training++
				cur.transform++
				want[rid] = cur
			}
			r, err = h.Infer(ctx, id, fmt.Sprintf("base%d", i), "2019-11-01", threshold)
			require.NoError(t, err)
			runs, ids = append(runs, r), append(ids, id)
			want[id] = struct{ training, transform int }{0, 1}
		}

		// Kill 0: at a random moment of the wave's first seconds (starts, Initialize, Find Model, creations).
		time.Sleep(time.Until(waveStart.Add(uniform(rng, 0, 3*time.Second))))
		steps := killWorker(t, ctx, h, ids, rng.IntN(workers), uniform(rng, 0, 2*time.Second))
		kills++
		t.Logf("wave %d kill 0: %s into the wave; runs were in: %s", w, time.Since(waveStart).Round(time.Millisecond), steps)

		// Kill 1: after the n-th job creation of the wave (training or transform), a random delay later.
		n := 1 + rng.IntN(2*perWave)
		op := "CreateTrainingJob"
		if n > perWave {
			op, n = "CreateTransformJob", n-perWave
		}
		created, err := h.WaitForRequest(ctx, op, waveStart, n)
		require.NoError(t, err)
		delay := uniform(rng, 0, 150*time.Millisecond)
		time.Sleep(time.Until(created.Add(delay)))
		steps = killWorker(t, ctx, h, ids, rng.IntN(workers), uniform(rng, 0, 2*time.Second))
		kills++
		t.Logf("wave %d kill 1: %s #%d returned, +%s; runs were in: %s", w, op, n, delay, steps)

		// Kill 2: after a creation past the training runs' own: most likely a retrain child's training job.
		n = perWave + 1 + rng.IntN(retrains)
		created, err = h.WaitForRequest(ctx, "CreateTrainingJob", waveStart, n)
		require.NoError(t, err)
		delay = uniform(rng, 0, 300*time.Millisecond)
		time.Sleep(time.Until(created.Add(delay)))
		steps = killWorker(t, ctx, h, ids, rng.IntN(workers), uniform(rng, 0, 2*time.Second))
		kills++
		t.Logf("wave %d kill 2: CreateTrainingJob #%d returned (past the training runs' own), +%s; runs were in: %s", w, n, delay, steps)

		for _, o := range waitAll(ctx, runs) {
			require.NoError(t, o.err, "run %s must complete despite the kills", o.id)
		}
		t.Logf("wave %d: %d runs completed in %s", w, len(runs), time.Since(waveStart).Round(time.Second))
	}

	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	byRun := harness.JobsByWorkflow(jobs)
	require.NotContains(t, byRun, "", "every job carries the mdlc:run tag")
	for id, w := range want {
		var training, transform int
		for _, j := range byRun[id] {
			require.Equal(t, "Completed", j.Status, "job %s of %s", j.Name, id)
			if j.Kind == "training" {
				training++
			} else {
				transform++
			}
		}
		require.Equal(t, w.training, training, "training jobs of %s", id)
		require.Equal(t, w.transform, transform, "transform jobs of %s", id)
	}
	require.Len(t, byRun, len(want), "no job belongs to a run the test did not start")
	// Every training job was registered exactly once, whichever worker died around its registration.
	registered, err := h.Registrations(ctx)
	require.NoError(t, err)
	for _, j := range jobs {
		if j.Kind == "training" {
			require.Equal(t, 1, registered[j.Name], "versions registered for training job %s", j.Name)
			delete(registered, j.Name)
		}
	}
	require.Empty(t, registered, "versions registered for no training job of the test")
	attached := strings.Count(h.WorkerLogs(), "Attached to existing job")
	t.Logf("%d runs (%d with kills), %d kills, %d jobs, %d attaches to a job created before a kill",
		len(want), len(want)-perWave, kills, len(jobs), attached)
	require.Positive(t, attached, "at least one kill landed between a Create call and the job's end")
}
