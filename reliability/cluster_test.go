package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/workflows"
)

// The cluster tests run on Temporal's own server on PostgreSQL (deploy/temporal) with three workers on the one
// task queue, as a team would run mdlc. They need the pinned cluster tools (`make cluster-deps`; make test sets
// MDLC_TEMPORAL_SERVER_BIN, MDLC_TEMPORAL_SQL_TOOL_BIN and MDLC_TEMPORAL_UI_BIN) and PostgreSQL.
const clusterWorkers = 3

// TestClusterPipelinesEndToEnd trains a model, runs batch inference on drifted data with a retrain and again
// without, on the cluster with three workers; what SageMaker holds matches what the runs reported, and the
// runs are found in PostgreSQL's visibility store by the mdlc search attributes.
func TestClusterPipelinesEndToEnd(t *testing.T) {
	h := startWith(t, harness.Options{Data: harness.SmallData(), Backend: stack.BackendCluster, Workers: clusterWorkers})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const model = "cluster"

	trainID := workflows.TrainingWorkflowID(model, "2019-10-01")
	run, err := h.Train(ctx, trainID, model, "2019-10-01")
	require.NoError(t, err)
	var trained workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &trained))
	require.Equal(t, int32(1), trained.ModelPackageVersion)
	require.Equal(t, "Approved", trained.ApprovalStatus)

	inferID := workflows.BatchInferenceWorkflowID(model, "2019-11-01")
	run, err = h.Infer(ctx, inferID, model, "2019-11-01", 1.0) // AUC < 1: retrain
	require.NoError(t, err)
	var drifted workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &drifted))
	require.Equal(t, workflows.DecisionRetrain, drifted.Decision)
	require.Equal(t, trained.ModelPackageArn, drifted.ModelPackageArn, "scored with the first version")
	require.NotNil(t, drifted.Retrain)
	require.Equal(t, int32(2), drifted.Retrain.ModelPackageVersion)
	require.Equal(t, workflows.RetrainWorkflowID(model), drifted.RetrainWorkflowID)

	run, err = h.Infer(ctx, inferID, model, "2019-11-01", 0.0) // keep
	require.NoError(t, err)
	var kept workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &kept))
	require.Equal(t, workflows.DecisionKeep, kept.Decision)
	require.Nil(t, kept.Retrain)
	require.Equal(t, drifted.Retrain.ModelPackageArn, kept.ModelPackageArn, "scored with the retrained version")

	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	byRun := harness.JobsByWorkflow(jobs)
	require.Len(t, byRun[trainID], 1)
	requireRetrainJobs(t, byRun[drifted.RetrainWorkflowID])
	require.Len(t, byRun[inferID], 2, "one transform job per batch-inference run")
	require.Len(t, jobs, 5)
	pkgs, err := h.SageMaker.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, pkgs.ModelPackageSummaryList, 2)

	// Visibility on PostgreSQL answers queries on the custom search attributes (the web UI's filter).
	want := map[string]int{fmt.Sprintf("ModelName = %q", model): 4, fmt.Sprintf("ModelName = %q AND DataDate = \"2019-11-01\"", model): 3}
	for query, n := range want {
		require.Eventually(t, func() bool {
			res, err := h.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			return err == nil && len(res.Executions) == n
		}, time.Minute, 200*time.Millisecond, "%d runs match %s (the retrain child carries the parent's attributes or its own date)", n, query)
	}
}

// TestClusterWorkerKilledAtRandomPoints is the worker-crash test on the cluster: a wave of 30 concurrent runs
// (12 training, 12 batch inference, 6 retrain children) after 12 base trainings, one of the three workers
// killed with SIGKILL at three random points; every logical run owns exactly one job of each kind it needs.
func TestClusterWorkerKilledAtRandomPoints(t *testing.T) {
	workerKilledAtRandomPoints(t, stack.BackendCluster, clusterWorkers, 12, 1)
}

// TestClusterTemporalServerRestart kills the cluster's Temporal server process mid-run and starts it again:
// the runs' state is in PostgreSQL, and every run completes with one job per run.
func TestClusterTemporalServerRestart(t *testing.T) {
	temporalServerRestart(t, stack.BackendCluster, clusterWorkers)
}

// TestClusterStateSurvivesAStackRestart: everything of a cluster stack lives in its data directory, so a stack
// stopped and started again on it (what `make down` and `make up` do, through the same
// deploy/temporal/cluster.sh) still has the finished run — its history, its result and its search
// attributes in PostgreSQL's visibility store — and the registered model, and goes on from there: a batch
// inference after the restart scores with the version registered before it.
func TestClusterStateSurvivesAStackRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const model = "survivor"
	trainID := workflows.TrainingWorkflowID(model, "2019-10-01")

	h, err := harness.Start(ctx, harness.Options{Dir: dir, Data: harness.SmallData(), Backend: stack.BackendCluster})
	require.NoError(t, err)
	run, err := h.Train(ctx, trainID, model, "2019-10-01")
	if err == nil {
		err = run.Get(ctx, new(workflows.TrainingResult))
	}
	firstRunID := ""
	if run != nil {
		firstRunID = run.GetRunID()
	}
	h.Close()
	require.NoError(t, err, "training before the restart")

	h, err = harness.Start(ctx, harness.Options{Dir: dir, Backend: stack.BackendCluster})
	require.NoError(t, err, "the stack starts again on its data directory")
	defer h.Close()

	// A server started again takes over its history shards from the one before it, whose membership records
	// in PostgreSQL must expire first: until then a request can time out. Ask again until it answers.
	var desc *workflowservice.DescribeWorkflowExecutionResponse
	for {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		desc, err = h.Temporal.DescribeWorkflowExecution(rctx, trainID, "")
		rcancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) && status.Code(err) != codes.DeadlineExceeded && status.Code(err) != codes.Unavailable {
			break
		}
		t.Logf("the restarted server does not answer yet: %v", err)
	}
	require.NoError(t, err, "the run is still known to the server")
	require.Equal(t, firstRunID, desc.WorkflowExecutionInfo.Execution.RunId)
	require.Equal(t, "Completed", desc.WorkflowExecutionInfo.Status.String())
	var trained workflows.TrainingResult
	require.NoError(t, h.Temporal.GetWorkflow(ctx, trainID, firstRunID).Get(ctx, &trained), "its result is still in its history")
	require.Equal(t, int32(1), trained.ModelPackageVersion)

	query := fmt.Sprintf("ModelName = %q AND DataDate = \"2019-10-01\"", model)
	res, err := h.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(t, err)
	require.Len(t, res.Executions, 1, "the visibility store still finds the run by its search attributes")

	_, err = h.SageMaker.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(trained.ModelPackageArn)})
	require.NoError(t, err, "localaws still has the registered version")

	inferID := workflows.BatchInferenceWorkflowID(model, "2019-11-01")
	run, err = h.Infer(ctx, inferID, model, "2019-11-01", 0.0) // keep
	require.NoError(t, err)
	var kept workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &kept))
	require.Equal(t, trained.ModelPackageArn, kept.ModelPackageArn, "scored with the version registered before the restart")
}
