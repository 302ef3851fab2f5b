package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

var (
	trainingPlan = activities.TrainingPlan{
		DataDate: "2019-10-01", TrainingJobName: "m-20191001T000000-abcd",
		TrainingInput:   activities.S3Location{S3Uri: "s3://b/input-data/2019-10-01/train"},
		ValidationInput: activities.S3Location{S3Uri: "s3://b/input-data/2019-10-01/validation"},
		TrainingOutput:  activities.S3Location{S3Uri: "s3://b/model/2019-10-01/20191001T000000"},
		Evaluation: activities.EvaluationPlan{
			Transform: activities.InferencePlan{
				DataDate: "2019-10-01", InferenceJobName: "m-20191001T000000-abcd",
				InferenceInput:  activities.S3Location{S3Uri: "s3://b/input-data/2019-10-01/holdout_data"},
				InferenceOutput: activities.S3Location{S3Uri: "s3://b/output-data/2019-10-01/20191001T000000"},
				TargetS3Uri:     "s3://b/input-data/2019-10-01/holdout_target/holdout_target.csv",
				PredictionS3Uri: "s3://b/output-data/2019-10-01/20191001T000000/holdout_data.csv.out",
			},
			EvaluationS3Uri: "s3://b/evaluation/2019-10-01/20191001T000000/evaluation.json",
		},
	}
	trained = activities.TrainModelOutput{
		TrainingJobName: "m-20191001T000000-abcd", ModelArtifacts: "s3://b/model/x/model.tar.gz",
		FinalMetrics: map[string]float64{"validation:logloss": 0.3},
	}
	inferencePlan = activities.InferencePlan{
		DataDate: "2019-11-01", InferenceJobName: "m-20191101T000000-ef01",
		InferenceInput:  activities.S3Location{S3Uri: "s3://b/input-data/2019-11-01/holdout_data"},
		InferenceOutput: activities.S3Location{S3Uri: "s3://b/output-data/2019-11-01/x"},
		TargetS3Uri:     "s3://b/input-data/2019-11-01/holdout_target/holdout_target.csv",
		PredictionS3Uri: "s3://b/output-data/2019-11-01/x/holdout_data.csv.out",
	}
	found = activities.FindModelOutput{ModelPackageArn: "arn:pkg/m/1", ModelPackageVersion: 1, SageMakerModelName: "m-1"}
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Training, workflow.RegisterOptions{Name: TrainingWorkflow})
	env.RegisterWorkflowWithOptions(BatchInference, workflow.RegisterOptions{Name: BatchInferenceWorkflow})
	env.RegisterActivity(a)
	return env
}

// mockTraining makes every training activity succeed but those named in except, which the test mocks.
func mockTraining(env *testsuite.TestWorkflowEnvironment, except ...string) {
	skip := func(name string) bool { return slices.Contains(except, name) }
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved"}, nil).Maybe()
	if !skip("InitializeTraining") {
		env.OnActivity(a.InitializeTraining, mock.Anything, mock.Anything).Return(trainingPlan, nil)
	}
	if !skip("TrainModel") {
		env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(trained, nil)
	}
	if !skip("CreateModel") {
		env.OnActivity(a.CreateModel, mock.Anything, mock.Anything).Return(activities.CreateModelOutput{ModelName: trained.TrainingJobName, ModelArn: "arn:model"}, nil)
	}
	if !skip("Evaluate") {
		mockEvaluation(env, challengerAUC)
	}
	if !skip("RegisterModel") {
		env.OnActivity(a.RegisterModel, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RegisterModelInput) (activities.RegisterModelOutput, error) {
				return activities.RegisterModelOutput{ModelPackageArn: "arn:pkg/m/2", ModelPackageVersion: 2, ApprovalStatus: in.ApprovalStatus}, nil
			})
	}
}

// challengerAUC is the AUC mockTraining gives a retrained model on its holdout data.
const challengerAUC = 0.9

// mockEvaluation makes the training run's evaluation activities (the challenger's batch transform and
// monitor) succeed, the challenger scoring auc; the monitor's evaluation is the function's (contract.Evaluate).
func mockEvaluation(env *testsuite.TestWorkflowEnvironment, auc float64) {
	ep := trainingPlan.Evaluation.Transform
	env.OnActivity(a.BatchTransform, mock.Anything, mock.MatchedBy(func(in activities.TransformInput) bool {
		return in.ModelName == trained.TrainingJobName && in.Plan == ep
	})).Return(activities.TransformOutput{TransformJobName: ep.InferenceJobName}, nil).Maybe()
	env.OnActivity(a.MonitorPerformance, mock.Anything, mock.MatchedBy(func(in activities.MonitorInput) bool {
		return in.Evaluation != nil && in.PredictionS3Uri == ep.PredictionS3Uri && in.TargetS3Uri == ep.TargetS3Uri &&
			in.Evaluation.OutputS3Uri == trainingPlan.Evaluation.EvaluationS3Uri
	})).Return(func(_ context.Context, in activities.MonitorInput) (activities.MonitorOutput, error) {
		e := contract.Evaluate(auc, *in.Evaluation)
		return activities.MonitorOutput{AUC: auc, Evaluation: &e}, nil
	}).Maybe()
}

// mockTrainingCapturingRegistration mocks a training run's activities, its Register Model keeping what it was
// asked to register (read it after the run) and registering version 2 with the requested status.
func mockTrainingCapturingRegistration(env *testsuite.TestWorkflowEnvironment) *activities.RegisterModelInput {
	mockTraining(env, "RegisterModel")
	registered := new(activities.RegisterModelInput)
	env.OnActivity(a.RegisterModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RegisterModelInput) (activities.RegisterModelOutput, error) {
			*registered = in
			return activities.RegisterModelOutput{ModelPackageArn: "arn:pkg/m/2", ModelPackageVersion: 2, ApprovalStatus: in.ApprovalStatus}, nil
		})
	return registered
}

func TestTrainingHappyPath(t *testing.T) {
	env := newEnv(t)
	registered := mockTrainingCapturingRegistration(env)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res TrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, trained.TrainingJobName, res.TrainingJobName)
	require.Equal(t, trained.TrainingJobName, res.SageMakerModelName)
	require.Equal(t, "arn:pkg/m/2", res.ModelPackageArn)
	require.Equal(t, int32(2), res.ModelPackageVersion)
	require.Equal(t, 0.3, res.FinalMetrics["validation:logloss"])
	require.Equal(t, "m", registered.Group)
	require.Equal(t, "Approved", registered.ApprovalStatus, "worker default approval")
	require.Equal(t, trained.ModelArtifacts, registered.ModelDataURL)

	require.Nil(t, registered.Evaluation, "no champion: no evaluation")
	require.Nil(t, res.Evaluation)

	var p Progress
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(&p))
	for _, s := range p.Steps {
		if s.Name == StepEvaluate || s.Name == StepPromote {
			require.Equal(t, StepSkipped, s.State, s.Name)
			require.Equal(t, "no champion", s.Detail)
			continue
		}
		require.Equal(t, StepCompleted, s.State, s.Name)
	}
}

func TestTrainingApprovalFromInput(t *testing.T) {
	env := newEnv(t)
	mockTraining(env, "RegisterModel")
	env.OnActivity(a.RegisterModel, mock.Anything, mock.MatchedBy(func(in activities.RegisterModelInput) bool {
		return in.ApprovalStatus == "PendingManualApproval"
	})).Return(activities.RegisterModelOutput{ModelPackageArn: "p", ApprovalStatus: "PendingManualApproval"}, nil)
	env.OnActivity(a.WaitForApproval, mock.Anything, activities.WaitForApprovalInput{ModelPackageArn: "p"}).Return(activities.ApprovalState{Status: "Approved"}, nil)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", ApprovalStatus: "PendingManualApproval"})
	require.NoError(t, env.GetWorkflowError())
}

func TestTrainingStepFailures(t *testing.T) {
	for _, tc := range []struct {
		step     string
		name     string
		activity any
		zero     any
		err      error
		wantType string
	}{
		{StepInitialize, "InitializeTraining", a.InitializeTraining, activities.TrainingPlan{}, temporal.NewNonRetryableApplicationError("no data", "DataNotFound", nil), "DataNotFound"},
		{StepTrainModel, "TrainModel", a.TrainModel, activities.TrainModelOutput{}, temporal.NewNonRetryableApplicationError("job failed: boom", activities.ErrJobFailed, nil), activities.ErrJobFailed},
		{StepTrainModel, "TrainModel", a.TrainModel, activities.TrainModelOutput{}, temporal.NewNonRetryableApplicationError("stopped", activities.ErrJobStopped, nil), activities.ErrJobStopped},
		{StepCreateModel, "CreateModel", a.CreateModel, activities.CreateModelOutput{}, temporal.NewNonRetryableApplicationError("bad", "ValidationException", nil), "ValidationException"},
		{StepRegister, "RegisterModel", a.RegisterModel, activities.RegisterModelOutput{}, temporal.NewNonRetryableApplicationError("bad", "ValidationException", nil), "ValidationException"},
	} {
		t.Run(tc.step+"/"+tc.wantType, func(t *testing.T) {
			env := newEnv(t)
			mockTraining(env, tc.name)
			env.OnActivity(tc.activity, mock.Anything, mock.Anything).Return(tc.zero, tc.err)
			env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
			err := env.GetWorkflowError()
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, tc.wantType, app.Type())
			require.Contains(t, app.Error(), tc.step)
			var p Progress
			v, qerr := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, qerr)
			require.NoError(t, v.Get(&p))
			for _, s := range p.Steps {
				if s.Name == tc.step {
					require.Equal(t, StepFailed, s.State)
				}
			}
		})
	}
}

func TestTrainingTransientErrorIsRetried(t *testing.T) {
	env := newEnv(t)
	mockTraining(env, "CreateModel")
	calls := 0
	env.OnActivity(a.CreateModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateModelInput) (activities.CreateModelOutput, error) {
			if calls++; calls < 3 {
				return activities.CreateModelOutput{}, errors.New("ThrottlingException: rate exceeded")
			}
			return activities.CreateModelOutput{ModelName: in.ModelName}, nil
		})
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, calls)
}

func TestBadInputsFailFastWithoutActivities(t *testing.T) {
	nan := -0.5
	big := 1.5
	for name, run := range map[string]func(*testsuite.TestWorkflowEnvironment){
		"empty model": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{DataDate: "2019-10-01"})
		},
		"model with space": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: "a b", DataDate: "2019-10-01"})
		},
		"model too long": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: string(make([]byte, 64)), DataDate: "2019-10-01"})
		},
		"not a date": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-02-30"})
		},
		"date format": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-1-1"})
		},
		"bad approval": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", ApprovalStatus: "Yes"})
		},
		"negative threshold": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: &nan})
		},
		"threshold above one": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: &big})
		},
		"inference bad date": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "yesterday"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			// No activity is mocked: any activity call would fail the test with an unmocked-call panic.
			run(env)
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, activities.ErrInvalidInput, app.Type())
			require.True(t, app.NonRetryable())
		})
	}
}

// mockInference makes every batch-inference activity succeed with the given AUC, but those named in except.
func mockInference(env *testsuite.TestWorkflowEnvironment, auc float64, except ...string) {
	skip := func(name string) bool { return slices.Contains(except, name) }
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved"}, nil).Maybe()
	if !skip("InitializeInference") {
		env.OnActivity(a.InitializeInference, mock.Anything, mock.Anything).Return(inferencePlan, nil)
	}
	if !skip("FindModel") {
		env.OnActivity(a.FindModel, mock.Anything, mock.Anything).Return(found, nil)
	}
	if !skip("BatchTransform") {
		env.OnActivity(a.BatchTransform, mock.Anything, mock.MatchedBy(func(in activities.TransformInput) bool {
			return in.ModelName == found.SageMakerModelName
		})).Return(activities.TransformOutput{TransformJobName: inferencePlan.InferenceJobName}, nil)
	}
	if !skip("MonitorPerformance") {
		env.OnActivity(a.MonitorPerformance, mock.Anything, activities.MonitorInput{
			PredictionS3Uri: inferencePlan.PredictionS3Uri, TargetS3Uri: inferencePlan.TargetS3Uri,
		}).Return(activities.MonitorOutput{AUC: auc}, nil)
	}
	if !skip("CheckRetrainGuard") {
		env.OnActivity(a.CheckRetrainGuard, mock.Anything, activities.RetrainGuardInput{ModelName: "m"}).Return(activities.RetrainGuardOutput{}, nil).Maybe()
	}
}

func TestBatchInferenceDecision(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name          string
		auc           float64
		threshold     *float64
		wantRetrain   bool
		wantThreshold float64
		wantSource    string
	}{
		{"below input threshold", 0.70, f(0.8), true, 0.8, "input"},
		{"equal does not retrain", 0.80, f(0.8), false, 0.8, "input"},
		{"above input threshold", 0.95, f(0.8), false, 0.8, "input"},
		{"below default threshold", 0.75, nil, true, 0.8, "default"},
		{"above default threshold", 0.85, nil, false, 0.8, "default"},
		{"input threshold overrides default", 0.85, f(0.9), true, 0.9, "input"},
		{"threshold zero never retrains", 0.0, f(0), false, 0, "input"},
		{"threshold one retrains unless perfect", 0.99, f(1), true, 1, "input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			mockInference(env, tc.auc)
			childRan := false
			margin := 0.0
			env.OnWorkflow(TrainingWorkflow, mock.Anything, TrainingInput{ModelName: "m", DataDate: "2019-11-01", PromotionMargin: &margin,
				Champion: &contract.Champion{ModelPackageArn: found.ModelPackageArn, ModelPackageVersion: found.ModelPackageVersion, SageMakerModelName: found.SageMakerModelName, AUC: tc.auc}}).Return(
				func(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
					childRan = true
					require.Equal(t, RetrainWorkflowID("m"), workflow.GetInfo(ctx).WorkflowExecution.ID)
					return TrainingResult{ModelName: "m", ModelPackageVersion: 2, ModelPackageArn: "arn:pkg/m/2"}, nil
				}).Maybe()
			env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: tc.threshold})
			require.NoError(t, env.GetWorkflowError())
			var res BatchInferenceResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tc.auc, res.AUC)
			require.Equal(t, tc.wantThreshold, res.Threshold)
			require.Equal(t, tc.wantSource, res.ThresholdSource)
			require.Equal(t, tc.wantRetrain, childRan)
			require.Equal(t, NeedsRetraining(tc.auc, tc.wantThreshold), tc.wantRetrain)
			if tc.wantRetrain {
				require.Equal(t, DecisionRetrain, res.Decision)
				require.NotNil(t, res.Retrain)
				require.Equal(t, int32(2), res.Retrain.ModelPackageVersion)
			} else {
				require.Equal(t, DecisionKeep, res.Decision)
				require.Nil(t, res.Retrain)
			}
			require.Equal(t, found.ModelPackageArn, res.ModelPackageArn)
			require.Equal(t, inferencePlan.PredictionS3Uri, res.PredictionS3Uri)
		})
	}
}

// TestBatchInferenceRetrainWithRealChild: the real Training child registers the retrained version, after
// evaluating it against the parent's model and AUC.
func TestBatchInferenceRetrainWithRealChild(t *testing.T) {
	env := newEnv(t)
	mockInference(env, 0.6)
	mockTraining(env)
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	require.NoError(t, env.GetWorkflowError())
	var res BatchInferenceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DecisionRetrain, res.Decision)
	require.Equal(t, "arn:pkg/m/2", res.Retrain.ModelPackageArn)
	require.NotNil(t, res.Retrain.Evaluation)
	require.Equal(t, 0.6, res.Retrain.Evaluation.Champion.AUC)
	require.Equal(t, challengerAUC, res.Retrain.Evaluation.ChallengerAUC)
	require.Equal(t, contract.DecisionPromoted, res.Retrain.Evaluation.Decision)
	require.Equal(t, contract.ApprovalApproved, res.Retrain.ApprovalStatus)
}

func TestBatchInferenceStepFailures(t *testing.T) {
	for _, tc := range []struct {
		step     string
		name     string
		activity any
		zero     any
		err      error
		wantType string
	}{
		{StepInitialize, "InitializeInference", a.InitializeInference, activities.InferencePlan{}, temporal.NewNonRetryableApplicationError("no holdout", "DataNotFound", nil), "DataNotFound"},
		{StepFindModel, "FindModel", a.FindModel, activities.FindModelOutput{}, temporal.NewNonRetryableApplicationError("unable to find model", activities.ErrModelNotFound, nil), activities.ErrModelNotFound},
		{StepInference, "BatchTransform", a.BatchTransform, activities.TransformOutput{}, temporal.NewNonRetryableApplicationError("failed", activities.ErrJobFailed, nil), activities.ErrJobFailed},
		{StepInference, "BatchTransform", a.BatchTransform, activities.TransformOutput{}, temporal.NewNonRetryableApplicationError("stopped", activities.ErrJobStopped, nil), activities.ErrJobStopped},
		{StepMonitor, "MonitorPerformance", a.MonitorPerformance, activities.MonitorOutput{}, temporal.NewNonRetryableApplicationError("single class", "UndefinedMetric", nil), "UndefinedMetric"},
	} {
		t.Run(tc.step+"/"+tc.wantType, func(t *testing.T) {
			env := newEnv(t)
			mockInference(env, 0.5, tc.name)
			env.OnActivity(tc.activity, mock.Anything, mock.Anything).Return(tc.zero, tc.err)
			env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, tc.wantType, app.Type())
			require.Contains(t, app.Error(), tc.step)
		})
	}
}

func TestBatchInferenceRetrainFailureFailsRun(t *testing.T) {
	env := newEnv(t)
	mockInference(env, 0.5)
	mockTraining(env, "TrainModel")
	env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(activities.TrainModelOutput{},
		temporal.NewNonRetryableApplicationError("training job failed: AlgorithmError", activities.ErrJobFailed, nil))
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Contains(t, app.Error(), StepRetrain)
	require.Equal(t, activities.ErrJobFailed, app.Type())
}

func TestCancelDuringJobCancelsRun(t *testing.T) {
	for _, wf := range []string{TrainingWorkflow, BatchInferenceWorkflow} {
		t.Run(wf, func(t *testing.T) {
			env := newEnv(t)
			mockTraining(env, "TrainModel")
			mockInference(env, 0.5, "BatchTransform")
			block := func(ctx context.Context) error { <-ctx.Done(); return temporal.NewCanceledError("job stopped") }
			env.OnActivity(a.TrainModel, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.TrainModelInput) (activities.TrainModelOutput, error) {
				return activities.TrainModelOutput{}, block(ctx)
			})
			env.OnActivity(a.BatchTransform, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.TransformInput) (activities.TransformOutput, error) {
				return activities.TransformOutput{}, block(ctx)
			})
			env.RegisterDelayedCallback(env.CancelWorkflow, 100*time.Millisecond)
			if wf == TrainingWorkflow {
				env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
			} else {
				env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"})
			}
			require.True(t, temporal.IsCanceledError(env.GetWorkflowError()), "got %v", env.GetWorkflowError())
		})
	}
}

// TestOversizedInputIsNotEchoed: a 1.5 MB model name fails the run with InvalidInput and an error that quotes
// a short prefix of it; echoing it whole would exceed Temporal's failure size limit and the server would
// terminate the run instead.
func TestOversizedInputIsNotEchoed(t *testing.T) {
	huge := strings.Repeat("m", 1536*1024)
	for name, run := range map[string]func(*testsuite.TestWorkflowEnvironment){
		"training": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(Training, TrainingInput{ModelName: huge, DataDate: huge, ApprovalStatus: huge})
		},
		"batch inference": func(e *testsuite.TestWorkflowEnvironment) {
			e.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: huge, DataDate: "2019-11-01"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			// Decoding megabytes of JSON in the workflow goroutine takes well under the deadlock detector's 1 s
			// (about 20 ms here), but the race detector slows it down some fiftyfold.
			env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 5 * time.Minute})
			run(env)
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, activities.ErrInvalidInput, app.Type())
			require.Less(t, len(env.GetWorkflowError().Error()), 2048)
			require.Contains(t, app.Error(), "(1572864 bytes)")
		})
	}
}

// TestMisspeltInputFieldsFailFast: the workflows decode their input themselves, whoever started the run, and
// fail with InvalidInput naming a field that is not exactly one of theirs instead of running with a default.
func TestMisspeltInputFieldsFailFast(t *testing.T) {
	for _, tc := range []struct {
		name, workflow string
		input          map[string]any
		want           []string
	}{
		{"misspelt threshold", BatchInferenceWorkflow, map[string]any{"ModelName": "m", "DataDate": "2019-11-01", "Treshold": 0.99},
			[]string{`unknown field "Treshold": the fields are ModelName, DataDate, DataDateOffset, ScheduledTime, Threshold`}},
		{"threshold in lower case", BatchInferenceWorkflow, map[string]any{"ModelName": "m", "DataDate": "2019-11-01", "threshold": 0.99},
			[]string{`field "threshold" must be written "Threshold"`}},
		{"threshold as a string", BatchInferenceWorkflow, map[string]any{"ModelName": "m", "DataDate": "2019-11-01", "Threshold": "0.99"},
			[]string{"field Threshold must be a number or null, not a string"}},
		{"model name in lower case", TrainingWorkflow, map[string]any{"modelname": "m", "DataDate": "2019-10-01"},
			[]string{`field "modelname" must be written "ModelName"`, `model name ""`}},
		{"misspelt approval status", TrainingWorkflow, map[string]any{"ModelName": "m", "DataDate": "2019-10-01", "Approval": "PendingManualApproval"},
			[]string{`unknown field "Approval": the fields are ModelName, DataDate, DataDateOffset, ScheduledTime, ApprovalStatus`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			// No activity is mocked: any activity call would fail the test with an unmocked-call panic.
			env.ExecuteWorkflow(tc.workflow, tc.input)
			var app *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &app)
			require.Equal(t, activities.ErrInvalidInput, app.Type())
			for _, w := range tc.want {
				require.Contains(t, app.Error(), w)
			}
		})
	}
}

// allRegistered is the worker's defaults when the namespace has every search attribute of the workflows.
func allRegistered() activities.DefaultsOutput {
	var names []string
	for _, attr := range SearchAttributes() {
		names = append(names, attr.Name)
	}
	return activities.DefaultsOutput{Attributes: names}
}

// TestRunSetsItsOwnSearchAttributes: a run started without its ModelName/DataDate search attributes (from the
// Temporal CLI or web UI), or with other values, sets the request's own when the worker found them registered;
// a run started with them (the starter's) upserts nothing, and nor does one whose worker found them missing.
func TestRunSetsItsOwnSearchAttributes(t *testing.T) {
	want := temporal.NewSearchAttributes(ModelNameAttribute.ValueSet("m"), DataDateAttribute.ValueSet("2019-10-01"))
	for _, tc := range []struct {
		name       string
		onStart    temporal.SearchAttributes
		registered activities.DefaultsOutput
		upserts    int
	}{
		{"started without them", temporal.SearchAttributes{}, allRegistered(), 1},
		{"started with other values", temporal.NewSearchAttributes(ModelNameAttribute.ValueSet("other"), DataDateAttribute.ValueSet("2019-10-01")), allRegistered(), 1},
		{"started with them", want, allRegistered(), 0},
		{"not registered", temporal.SearchAttributes{}, activities.DefaultsOutput{Attributes: []string{}}, 0},
		{"only ModelName registered", temporal.SearchAttributes{}, activities.DefaultsOutput{Attributes: []string{"ModelName"}}, 0},
		// Defaults recorded before Attributes existed said it with SearchAttributes.
		{"recorded before Attributes", temporal.SearchAttributes{}, activities.DefaultsOutput{SearchAttributes: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			def := tc.registered
			def.Threshold, def.ApprovalStatus = 0.8, "Approved"
			env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(def, nil)
			mockTraining(env)
			require.NoError(t, env.SetTypedSearchAttributesOnStart(tc.onStart))
			upserts := 0
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				sa := args.Get(0).(temporal.SearchAttributes)
				if _, registration := sa.GetInt64(ModelVersionAttribute); registration {
					return // what the run registered (TestTrainingSetsWhatItRegistered)
				}
				upserts++
				m, _ := sa.GetKeyword(ModelNameAttribute)
				d, _ := sa.GetKeyword(DataDateAttribute)
				require.Equal(t, "m", m)
				require.Equal(t, "2019-10-01", d)
			}).Return(nil).Maybe()
			env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01"})
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tc.upserts, upserts)
		})
	}
}
