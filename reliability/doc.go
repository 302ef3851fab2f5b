// Package reliability holds the tests that run the mdlc pipelines against the local stack (the Temporal dev
// server, localaws and the worker as separate processes, see internal/stack) under faults, and says here what
// the pipelines do under each. It has no code of its own; run it with
//
//	MDLC_TEMPORAL_BIN=$(command -v temporal) go test ./reliability/ -timeout 40m
//
// Fault points are drawn from a seeded source; each test logs its seed, and MDLC_RELIABILITY_SEED=<seed>
// replays the same choices (timing on a shared machine still varies).
//
// # Worker killed (SIGKILL)
//
// A run whose worker dies while it waits on a SageMaker job completes, with exactly one job: the waiting
// activity heartbeats every 5 s with a 20 s heartbeat timeout, so Temporal notices the dead worker within about
// 20 s and schedules the next attempt, which finds the job name taken by its own run (tag mdlc:run) and
// attaches to the job instead of creating another. A kill right after a Create call returned, before the
// activity recorded anything, is the same case. Workflow code is replayed on the new worker; a workflow task
// in flight is retried after its 10 s timeout.
//
// The short steps — the Lambda invocations (Initialize, Monitor Model Performance) and the single SageMaker
// calls (Find Model, Create Model, Register Model) — heartbeat while their call runs, with the same 20 s
// heartbeat timeout, so a worker killed in the middle of one is noticed as quickly and the step is retried;
// the retried Create Model and Register Model find what the first attempt created. The test kills the
// worker wherever its runs are, without waiting for a quiet moment.
//
// # Temporal dev server restarted
//
// The dev server started with --db-filename keeps its state in SQLite; killed and started again on the same
// file, it resumes every open run: timers and activity timeouts are rebuilt, the worker's pollers reconnect,
// and activities that could not heartbeat or complete while it was down are retried. Every run completes.
//
// # On the cluster: Temporal's server on PostgreSQL, three workers
//
// cluster_test.go runs the pipelines end to end, the worker kills (one of three workers each time, at random)
// and the server restart on the cluster backend of internal/stack (needs the tools of `make cluster-deps`,
// named by MDLC_TEMPORAL_SERVER_BIN, MDLC_TEMPORAL_SQL_TOOL_BIN and MDLC_TEMPORAL_UI_BIN, as make test sets
// them). A killed worker's tasks go to the other two after the same timeouts. The server process keeps no state
// of its own: killed and started again, it reloads its shards from PostgreSQL and every run completes; its
// restart takes longer than the dev server's (shard ownership moves to the new process).
//
// # localaws restarted mid-job
//
// localaws runs a job's algorithm as a child process of its own. When localaws dies the algorithm dies with
// it, and a restarted localaws cannot resume it: on start it marks every job it finds InProgress as Failed with
// FailureReason "InternalServerError: localaws restarted while the job was running". The waiting activity,
// whose Describe calls failed while localaws was down, attaches to the job again, sees Failed and fails the
// step with the non-retryable error type JobFailed and that reason; the run fails cleanly, without a second job
// (the job name is spent, as on SageMaker). Start a new run to retry. Real SageMaker does not lose jobs this
// way; this is the local endpoint's behaviour.
//
// # Throttling and server errors
//
// With localaws answering a fraction of SageMaker, Lambda and S3 requests with the service's throttling error
// or a 5xx, the AWS SDK's own retries absorb most of them; the rest fail an activity attempt as retryable and
// Temporal retries it with backoff. A Create call that failed is retried; one that succeeded and is retried
// anyway finds its own job and attaches. Runs complete with no duplicate jobs.
//
// # Cancellation
//
// Cancelling a run while it waits on a training job, a transform job, or (through its parent) the retrain
// child's training job stops that SageMaker job: the activity sees the cancellation with its next heartbeat,
// calls Stop*Job, waits for Stopped, and the run ends canceled. The SDK may hold a heartbeat back for up to
// 80% of the heartbeat timeout, so a job can keep running for up to about 16 s after the cancel request.
//
// # Malformed input
//
// Malformed workflow inputs, Lambda events, SageMaker and S3 requests and starter command lines are each
// answered with a clear error (a stable error type or AWS error code and a message naming the problem) and
// create nothing. One exception by design: Initialize runs before Find Model, as in the original state
// machine, and writes the run's workflow_request.json, so a batch-inference run that finds no approved model
// leaves that record behind.
package reliability
