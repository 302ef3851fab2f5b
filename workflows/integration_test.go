package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/lambdas/contract"
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

// requireWork checks how a run did its work: the activity tasks it scheduled (the job steps) and the local
// activities it ran (the Lambda and API steps), in order, the worker's defaults left out.
func requireWork(t *testing.T, c client.Client, id, runID string, tasks, locals []string) {
	t.Helper()
	var gotTasks, gotLocals []string
	for _, ev := range history(t, c, id, runID).Events {
		typ, ok := workflows.ActivityOf(ev)
		switch {
		case !ok || slices.Contains(workflows.RunWork, typ):
		case ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			gotTasks = append(gotTasks, typ)
		default:
			gotLocals = append(gotLocals, typ)
		}
	}
	require.Equal(t, tasks, gotTasks, "activity tasks of %s", id)
	require.Equal(t, locals, gotLocals, "local activities of %s", id)
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
	requireWork(t, c, run.GetID(), run.GetRunID(), []string{"TrainModel"}, []string{"InitializeTraining", "CreateModel", "RegisterModel"})
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
	// The retrain was evaluated against the version that scored the run, on the same holdout data, and won.
	eval := drifted.Retrain.Evaluation
	require.NotNil(t, eval)
	require.Equal(t, trained.ModelPackageArn, eval.Champion.ModelPackageArn)
	require.Equal(t, drifted.AUC, eval.Champion.AUC)
	require.Greater(t, eval.ChallengerAUC, eval.Champion.AUC, "the model trained on November's data scores November better")
	require.Equal(t, contract.DecisionPromoted, eval.Decision)
	require.Equal(t, "Approved", drifted.Retrain.ApprovalStatus)
	require.Less(t, historyLength(t, c, run.GetID(), run.GetRunID()), 80, "no polling in the batch-inference history")
	requireWork(t, c, run.GetID(), run.GetRunID(), []string{"BatchTransform"}, []string{"InitializeInference", "FindModel", "MonitorPerformance", "CheckRetrainGuard"})
	recordHistory(t, c, "batch-inference-retrain", run.GetID(), run.GetRunID())

	child, err := c.DescribeWorkflowExecution(ctx, drifted.RetrainWorkflowID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, child.WorkflowExecutionInfo.Status)
	recordHistory(t, c, "training-retrain-child", drifted.RetrainWorkflowID, child.WorkflowExecutionInfo.Execution.RunId)
	requireWork(t, c, drifted.RetrainWorkflowID, child.WorkflowExecutionInfo.Execution.RunId, []string{"TrainModel", "BatchTransform"},
		[]string{"InitializeTraining", "CreateModel", "MonitorPerformance", "RegisterModel"})

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
	require.Len(t, transforms.TransformJobSummaries, 3, "two batch inferences and the retrain's evaluation")
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
	// The retrained version carries its evidence; the first, trained without a champion, none.
	p, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(drifted.Retrain.ModelPackageArn)})
	require.NoError(t, err)
	requireEvidence(t, s, p, *eval)
	p, err = sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(trained.ModelPackageArn)})
	require.NoError(t, err)
	require.Nil(t, p.ModelMetrics)
	require.NotContains(t, p.CustomerMetadataProperties, activities.MetaDecision)
}

// requireEvidence checks that a model package records its evaluation e: the evaluation JSON in S3 (SageMaker's
// model-quality statistics with the challenger's AUC), named by ModelMetrics, and both AUCs, the decision and
// the reason in its metadata and ApprovalDescription.
func requireEvidence(t *testing.T, s *stack.Stack, p *sagemaker.DescribeModelPackageOutput, e workflows.Evaluation) {
	t.Helper()
	stats := p.ModelMetrics.ModelQuality.Statistics
	require.Equal(t, activities.EvaluationContentType, aws.ToString(stats.ContentType))
	require.Equal(t, e.EvaluationS3Uri, aws.ToString(stats.S3Uri))
	require.Equal(t, contract.FormatAUC(e.ChallengerAUC), p.CustomerMetadataProperties[activities.MetaAUC])
	require.Equal(t, contract.FormatAUC(e.Champion.AUC), p.CustomerMetadataProperties[activities.MetaChampionAUC])
	require.Equal(t, e.Decision, p.CustomerMetadataProperties[activities.MetaDecision])
	require.Equal(t, e.Reason, aws.ToString(p.ApprovalDescription))

	bucket, key, _ := strings.Cut(strings.TrimPrefix(e.EvaluationS3Uri, "s3://"), "/")
	obj, err := newS3(s).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer obj.Body.Close()
	var file contract.EvaluationFile
	require.NoError(t, json.NewDecoder(obj.Body).Decode(&file))
	require.Equal(t, e.ChallengerAUC, file.BinaryClassificationMetrics.AUC.Value)
	require.Equal(t, e.Decision, file.ChampionChallenger.Decision)
	require.Equal(t, e.Champion.AUC, file.ChampionChallenger.ChampionAUC)
}

func newS3(s *stack.Stack) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(s.LocalAWS), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// shuffledLabelsDate makes data date to from date from in the stack's bucket: the same holdout data and
// target, and the same training and validation features with their labels (the first column) shuffled — a
// date whose training data teaches nothing, so that a model retrained on it is worse than one trained on
// from, measured on the same holdout data.
func shuffledLabelsDate(t *testing.T, s *stack.Stack, from, to string) {
	t.Helper()
	ctx := context.Background()
	client := newS3(s)
	for _, split := range demodata.Splits {
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mdlc-local"), Key: aws.String(demodata.Key(from, split))})
		require.NoError(t, err)
		body, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		require.NoError(t, err)
		if split == demodata.Train || split == demodata.Validation {
			body = demodata.ShuffleLabels(body, 1)
		}
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mdlc-local"), Key: aws.String(demodata.Key(to, split)), Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
}

// TestWorseChallengerIsRejected: a retrain on a date whose training labels are shuffled produces a model
// worse than the one it would replace, measured on the same holdout data: its version is registered Rejected
// with its evidence, and the next batch inference still scores with the champion.
func TestWorseChallengerIsRejected(t *testing.T) {
	s, c, sm := startStack(t, demodata.DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const model, good, bad = "churn", "2019-10-01", "2019-10-02"
	shuffledLabelsDate(t, s, good, bad)

	run, err := c.ExecuteWorkflow(ctx, startOptions(workflows.TrainingWorkflowID(model, good), model, good),
		workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: model, DataDate: good})
	require.NoError(t, err)
	var champion workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &champion))

	always := 1.0 // retrain whatever the AUC, as the original workshop did
	run, err = c.ExecuteWorkflow(ctx, startOptions(workflows.BatchInferenceWorkflowID(model, bad), model, bad),
		workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: model, DataDate: bad, Threshold: &always})
	require.NoError(t, err)
	var res workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, workflows.DecisionRetrain, res.Decision)
	require.Greater(t, res.AUC, 0.85, "the champion scores the holdout data it was trained for")
	e := res.Retrain.Evaluation
	require.NotNil(t, e)
	require.Equal(t, contract.DecisionRejected, e.Decision)
	require.Less(t, e.ChallengerAUC, 0.6, "a model trained on shuffled labels guesses")
	require.Equal(t, res.AUC, e.Champion.AUC)
	require.Equal(t, contract.ApprovalRejected, res.Retrain.ApprovalStatus)
	require.Equal(t, int32(2), res.Retrain.ModelPackageVersion)
	p, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(res.Retrain.ModelPackageArn)})
	require.NoError(t, err)
	require.Equal(t, smtypes.ModelApprovalStatusRejected, p.ModelApprovalStatus)
	requireEvidence(t, s, p, *e)
	require.Contains(t, aws.ToString(p.ApprovalDescription), "rejected: challenger AUC")
	recordHistory(t, c, "training-retrain-rejected", res.RetrainWorkflowID, "")
	// What the retrain registered is on the run, for `starter list` and the web UI (ApprovalStatus="Rejected").
	desc, err := c.DescribeWorkflowExecution(ctx, res.RetrainWorkflowID, "")
	require.NoError(t, err)
	attrs := desc.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields()
	var status string
	var version int64
	var auc float64
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(attrs[workflows.ApprovalStatusAttribute.GetName()], &status))
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(attrs[workflows.ModelVersionAttribute.GetName()], &version))
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(attrs[workflows.AUCAttribute.GetName()], &auc))
	require.Equal(t, contract.ApprovalRejected, status)
	require.Equal(t, int64(2), version)
	require.Equal(t, e.ChallengerAUC, auc)

	keep := 0.5
	run, err = c.ExecuteWorkflow(ctx, startOptions(workflows.BatchInferenceWorkflowID(model, bad), model, bad),
		workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: model, DataDate: bad, Threshold: &keep})
	require.NoError(t, err)
	var next workflows.BatchInferenceResult
	require.NoError(t, run.Get(ctx, &next))
	require.Equal(t, champion.ModelPackageArn, next.ModelPackageArn, "the rejected version is never served")
	require.Equal(t, int32(1), next.ModelPackageVersion)
	require.Equal(t, res.AUC, next.AUC)
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
