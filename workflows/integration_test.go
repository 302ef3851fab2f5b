package workflows_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/workflows"
)

// startStack starts the dev server, localaws and the worker as processes and seeds the demo data.
func startStack(t *testing.T, cfg demodata.Config, workerArgs ...string) (*stack.Stack, client.Client, *sagemaker.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := stack.Start(ctx, stack.Options{Dir: dir, WorkerArgs: workerArgs})
	require.NoError(t, err)
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			for _, name := range []string{"worker", "localaws"} {
				t.Logf("--- %s log (tail)\n%s", name, tail(s.Log(name), 4000))
			}
		}
	})
	c, err := s.Client(ctx)
	require.NoError(t, err)
	t.Cleanup(c.Close)

	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(s.LocalAWS), Region: "us-east-1", UsePathStyle: true, Credentials: creds})
	cfg.Bucket, cfg.CreateBucket = "mdlc-local", true
	require.NoError(t, demodata.Upload(ctx, s3c, cfg, nil))
	sm := sagemaker.New(sagemaker.Options{BaseEndpoint: aws.String(s.LocalAWS), Region: "us-east-1", Credentials: creds})
	return s, c, sm
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func startOptions(id, model, date string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.ModelNameAttribute.ValueSet(model), workflows.DataDateAttribute.ValueSet(date)),
	}
}

var updateHistories = flag.Bool("update-histories", false, "record the end-to-end runs' histories into testdata/histories for the replay tests")

func history(t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	return h
}

func historyLength(t *testing.T, c client.Client, id, runID string) int {
	return len(history(t, c, id, runID).Events)
}

// recordHistory writes a run's history for the replay tests when -update-histories is given, as
// <name>__<workflow ID>.json: replay needs the original workflow ID (the retrain child's ID derives from it).
func recordHistory(t *testing.T, c client.Client, name, id, runID string) {
	t.Helper()
	if !*updateHistories {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history(t, c, id, runID))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join("testdata", "histories"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join("testdata", "histories", name+"__"+id+".json"), b, 0o644))
}

// TestPipelinesEndToEnd trains a model on 2019-10-01, then runs batch inference on the drifted 2019-11-01 data
// twice: with a threshold the drifted AUC falls below (a child training run registers a second version) and
// with one it is above (no retrain). What SageMaker holds afterwards must match what the runs reported.
func TestPipelinesEndToEnd(t *testing.T) {
	s, c, sm := startStack(t, demodata.DefaultConfig())
	_ = s
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const model = "churn"

	run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, "2019-10-01"), model, "2019-10-01"),
		workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: "2019-10-01"})
	require.NoError(t, err)
	var trained workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &trained))
	require.Equal(t, int32(1), trained.ModelPackageVersion)
	require.Equal(t, "Approved", trained.ApprovalStatus)
	require.Contains(t, trained.FinalMetrics, "validation:logloss")
	require.Regexp(t, `^churn-20\d{6}T\d{6}-`, trained.TrainingJobName)
	require.Less(t, historyLength(t, c, run.GetID(), run.GetRunID()), 60, "no polling in the training history")
	recordHistory(t, c, "training", run.GetID(), run.GetRunID())

	job, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(trained.TrainingJobName)})
	require.NoError(t, err)
	require.Equal(t, smtypes.TrainingJobStatusCompleted, job.TrainingJobStatus)
	require.Equal(t, trained.ModelArtifacts, aws.ToString(job.ModelArtifacts.S3ModelArtifacts))
	require.Equal(t, "s3://mdlc-local/model/2019-10-01/", aws.ToString(job.OutputDataConfig.S3OutputPath)[:len("s3://mdlc-local/model/2019-10-01/")])

	low := 0.8
	inferID := workflows.BatchInferenceWorkflowID(model, "2019-11-01")
	run, err = c.ExecuteWorkflow(ctx, startOptions(inferID, model, "2019-11-01"),
		workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: model, DataDate: "2019-11-01", Threshold: &low})
	require.NoError(t, err)
	var drifted workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &drifted))
	require.Less(t, drifted.AUC, 0.8, "the 2019-10-01 model on drifted data")
	require.Greater(t, drifted.AUC, 0.6)
	require.Equal(t, workflows.DecisionRetrain, drifted.Decision)
	require.Equal(t, trained.ModelPackageArn, drifted.ModelPackageArn, "scored with the first version")
	require.NotNil(t, drifted.Retrain)
	require.Equal(t, int32(2), drifted.Retrain.ModelPackageVersion)
	require.Equal(t, "2019-11-01", drifted.Retrain.DataDate)
	require.Equal(t, workflows.RetrainWorkflowID(model), drifted.RetrainWorkflowID)
	require.Less(t, historyLength(t, c, run.GetID(), run.GetRunID()), 80, "no polling in the batch-inference history")
	recordHistory(t, c, "batch-inference-retrain", run.GetID(), run.GetRunID())

	child, err := c.DescribeWorkflowExecution(ctx, drifted.RetrainWorkflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, child.WorkflowExecutionInfo.Status)
	recordHistory(t, c, "training-retrain-child", drifted.RetrainWorkflowID, child.WorkflowExecutionInfo.Execution.RunId)

	// The retrained model is newest and approved: the next run scores with it, and it fits November's data.
	high := 0.5
	run, err = c.ExecuteWorkflow(ctx, startOptions(inferID, model, "2019-11-01"),
		workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: model, DataDate: "2019-11-01", Threshold: &high})
	require.NoError(t, err)
	var kept workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &kept))
	require.Equal(t, workflows.DecisionKeep, kept.Decision)
	require.Nil(t, kept.Retrain)
	require.Equal(t, drifted.Retrain.ModelPackageArn, kept.ModelPackageArn)
	require.Greater(t, kept.AUC, 0.85, "the model retrained on 2019-11-01 scores its own date well")
	recordHistory(t, c, "batch-inference-keep", run.GetID(), run.GetRunID())

	// SageMaker holds exactly what the runs reported.
	jobs, err := sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{NameContains: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, jobs.TrainingJobSummaries, 2)
	transforms, err := sm.ListTransformJobs(ctx, &sagemaker.ListTransformJobsInput{NameContains: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, transforms.TransformJobSummaries, 2)
	pkgs, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(model)})
	require.NoError(t, err)
	require.Len(t, pkgs.ModelPackageSummaryList, 2)
	for _, arn := range []string{trained.ModelPackageArn, drifted.Retrain.ModelPackageArn} {
		p, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
		require.NoError(t, err)
		require.Equal(t, smtypes.ModelApprovalStatusApproved, p.ModelApprovalStatus)
		m, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(p.CustomerMetadataProperties[activities.MetaSageMakerModelName])})
		require.NoError(t, err)
		require.Equal(t, aws.ToString(p.InferenceSpecification.Containers[0].ModelDataUrl), aws.ToString(m.PrimaryContainer.ModelDataUrl))
	}
}

// TestBadInputsCreateNothing: requests that cannot succeed fail fast, non-retryably, before any SageMaker job.
func TestBadInputsCreateNothing(t *testing.T) {
	_, c, sm := startStack(t, demodata.DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bad := 1.5
	for name, tc := range map[string]struct {
		workflow string
		input    any
		wantType string
	}{
		"empty model":         {workflows.TrainingWorkflow, workflows.TrainingInput{DataDate: "2019-10-01"}, activities.ErrInvalidInput},
		"invalid model":       {workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "-x_y", DataDate: "2019-10-01"}, activities.ErrInvalidInput},
		"bad date":            {workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "m", DataDate: "2019-13-01"}, activities.ErrInvalidInput},
		"no data for date":    {workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "m", DataDate: "2018-01-01"}, "DataNotFound"},
		"threshold above one": {workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: &bad}, activities.ErrInvalidInput},
		"no holdout data":     {workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "m", DataDate: "2018-01-01"}, "DataNotFound"},
		"no model":            {workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "never-trained", DataDate: "2019-11-01"}, activities.ErrModelNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, tc.workflow, tc.input)
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, tc.wantType, app.Type(), err.Error())
			require.Less(t, time.Since(start), 30*time.Second, "fails fast, without retries")
		})
	}
	jobs, err := sm.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{})
	require.NoError(t, err)
	require.Empty(t, jobs.TrainingJobSummaries)
	transforms, err := sm.ListTransformJobs(ctx, &sagemaker.ListTransformJobsInput{})
	require.NoError(t, err)
	require.Empty(t, transforms.TransformJobSummaries)
}
