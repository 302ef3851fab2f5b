package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

var champion = contract.Champion{ModelPackageArn: "arn:pkg/m/1", ModelPackageVersion: 1, SageMakerModelName: "m-1"}

func championWith(auc float64) *contract.Champion {
	c := champion
	c.AUC = auc
	return &c
}

// TestTrainingPromotion: a training run with a champion evaluates its model on the holdout data and registers
// it with the requested status when its AUC reaches the champion's plus the margin (equal AUCs with margin 0
// promote), else Rejected; the evidence reaches Register Model, the result and the progress.
func TestTrainingPromotion(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		championAUC, margin    float64
		approval, wantApproval string
		wantDecision           string
	}{
		{"better promotes", 0.8, 0, "", contract.ApprovalApproved, contract.DecisionPromoted},
		{"worse is rejected", 0.95, 0, "", contract.ApprovalRejected, contract.DecisionRejected},
		{"equal with margin 0 promotes", challengerAUC, 0, "", contract.ApprovalApproved, contract.DecisionPromoted},
		{"equal with a positive margin is rejected", challengerAUC, 0.01, "", contract.ApprovalRejected, contract.DecisionRejected},
		{"better than the margin promotes", 0.85, 0.05, "", contract.ApprovalApproved, contract.DecisionPromoted},
		{"promoted keeps the requested status", 0.8, 0, contract.ApprovalPending, contract.ApprovalPending, contract.DecisionPromoted},
		{"rejected whatever the requested status", 0.95, 0, contract.ApprovalPending, contract.ApprovalRejected, contract.DecisionRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			registered := mockTrainingCapturingRegistration(env)
			// A version registered Pending waits for a person, who approves it in the registry; a rejected
			// challenger never waits.
			env.OnActivity(a.WaitForApproval, mock.Anything, mock.Anything).Return(activities.ApprovalState{Status: contract.ApprovalApproved, ModifiedBy: "carol"}, nil).Maybe()
			env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", ApprovalStatus: tc.approval,
				Champion: championWith(tc.championAUC), PromotionMargin: &tc.margin})
			require.NoError(t, env.GetWorkflowError())
			var res TrainingResult
			require.NoError(t, env.GetWorkflowResult(&res))

			require.Equal(t, tc.wantApproval, registered.ApprovalStatus)
			if tc.wantApproval == contract.ApprovalPending {
				require.NotNil(t, res.Approval, "a promoted Pending version waits for a decision")
				require.Equal(t, contract.ApprovalApproved, res.ApprovalStatus)
			} else {
				require.Nil(t, res.Approval, "only a version registered Pending waits")
				require.Equal(t, tc.wantApproval, res.ApprovalStatus)
			}
			require.NotNil(t, registered.Evaluation)
			require.Equal(t, tc.wantDecision, registered.Evaluation.Decision)
			require.Equal(t, trainingPlan.Evaluation.EvaluationS3Uri, registered.Evaluation.S3Uri)
			require.NotNil(t, res.Evaluation)
			require.Equal(t, Evaluation{
				Champion: *championWith(tc.championAUC), ChallengerAUC: challengerAUC, PromotionMargin: tc.margin,
				Decision: tc.wantDecision, Reason: registered.Evaluation.Reason, EvaluationS3Uri: trainingPlan.Evaluation.EvaluationS3Uri,
			}, *res.Evaluation)
			require.Contains(t, res.Evaluation.Reason, "challenger AUC 0.9000")

			var p Progress
			v, err := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, err)
			require.NoError(t, v.Get(&p))
			require.Equal(t, tc.wantDecision, p.Promotion)
			for _, s := range p.Steps {
				require.Equal(t, StepCompleted, s.State, s.Name)
			}
			want := []string{StepInitialize, StepTrainModel, StepCreateModel, StepEvaluate, StepPromote, StepRegister}
			if tc.wantApproval == contract.ApprovalPending {
				want = append(want, StepWaitApproval)
			}
			require.Equal(t, want, stepNames(p))
		})
	}
}

func stepNames(p Progress) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.Name)
	}
	return out
}

// TestTrainingPromotionMarginDefault: without a margin in the request, the worker's --promotion-margin
// decides.
func TestTrainingPromotionMarginDefault(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(activities.DefaultsOutput{Threshold: 0.8, ApprovalStatus: "Approved", PromotionMargin: 0.2}, nil)
	mockTraining(env)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", Champion: championWith(0.8)})
	require.NoError(t, env.GetWorkflowError())
	var res TrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 0.2, res.Evaluation.PromotionMargin)
	require.Equal(t, contract.DecisionRejected, res.Evaluation.Decision, "0.9 < 0.8 + 0.2")
	require.Equal(t, contract.ApprovalRejected, res.ApprovalStatus)
}

// TestTrainingRefusesAFunctionThatDecidesOtherwise: monitor-performance applies the same rule; a deployed
// function that decides otherwise (another version) fails Is the New Model Better? rather than registering
// evidence that contradicts the status.
func TestTrainingRefusesAFunctionThatDecidesOtherwise(t *testing.T) {
	env := newEnv(t)
	mockTraining(env, "Evaluate", "RegisterModel")
	ep := trainingPlan.Evaluation.Transform
	env.OnActivity(a.BatchTransform, mock.Anything, mock.Anything).Return(activities.TransformOutput{TransformJobName: ep.InferenceJobName}, nil)
	env.OnActivity(a.MonitorPerformance, mock.Anything, mock.Anything).Return(activities.MonitorOutput{AUC: 0.5,
		Evaluation: &contract.Evaluation{Decision: contract.DecisionPromoted, ChallengerAUC: 0.5}}, nil)
	env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", Champion: championWith(0.8)})
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, "InvalidFunctionOutput", app.Type())
	require.Contains(t, app.Error(), StepPromote)
}

// TestRetrainGetsTheChampion: a batch-inference run that retrains passes the version it scored and the AUC it
// measured as the retrain's champion, with the request's margin; the retrain's evaluation shows in the result.
func TestRetrainGetsTheChampion(t *testing.T) {
	env := newEnv(t)
	mockInference(env, 0.6)
	margin := 0.05
	var child TrainingInput
	env.OnWorkflow(TrainingWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
			child = in
			return TrainingResult{ModelName: "m", ModelPackageVersion: 2, ApprovalStatus: contract.ApprovalRejected,
				Evaluation: &Evaluation{Champion: *in.Champion, ChallengerAUC: 0.62, PromotionMargin: *in.PromotionMargin, Decision: contract.DecisionRejected}}, nil
		})
	env.ExecuteWorkflow(BatchInference, BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", PromotionMargin: &margin})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, &contract.Champion{ModelPackageArn: found.ModelPackageArn, ModelPackageVersion: found.ModelPackageVersion,
		SageMakerModelName: found.SageMakerModelName, AUC: 0.6}, child.Champion)
	require.Equal(t, margin, *child.PromotionMargin)
	var res BatchInferenceResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, found.ModelPackageVersion, res.ModelPackageVersion)
	require.Equal(t, contract.DecisionRejected, res.Retrain.Evaluation.Decision)
}

// TestBadChampionOrMarginFailsFast: a champion or margin that breaks the request's rules fails the run
// InvalidInput before any activity, naming the field.
func TestBadChampionOrMarginFailsFast(t *testing.T) {
	big := 1.5
	for name, in := range map[string]TrainingInput{
		"champion AUC": {ModelName: "m", DataDate: "2019-10-01", Champion: championWith(2)},
		"champion arn": {ModelName: "m", DataDate: "2019-10-01", Champion: &contract.Champion{ModelPackageVersion: 1, SageMakerModelName: "m-1", AUC: 0.5}},
		"margin":       {ModelName: "m", DataDate: "2019-10-01", Champion: championWith(0.5), PromotionMargin: &big},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			env.ExecuteWorkflow(Training, in)
			requireInvalidInput(t, env)
		})
	}
}

// TestTrainingSetsWhatItRegistered: a training run sets the ModelVersion and ApprovalStatus search attributes
// of the version it registered, and its AUC when it was evaluated, where they are registered.
func TestTrainingSetsWhatItRegistered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		champion   *contract.Champion
		registered activities.DefaultsOutput
		wantStatus string
		wantAUC    bool
		wantSet    bool
	}{
		{"rejected challenger", championWith(0.95), allRegistered(), contract.ApprovalRejected, true, true},
		{"promoted challenger", championWith(0.8), allRegistered(), contract.ApprovalApproved, true, true},
		{"no champion: no AUC", nil, allRegistered(), contract.ApprovalApproved, false, true},
		{"not registered", championWith(0.8), activities.DefaultsOutput{Attributes: []string{"ModelName", "DataDate"}}, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			def := tc.registered
			def.Threshold, def.ApprovalStatus = 0.8, "Approved"
			env.OnActivity(a.Defaults, mock.Anything, mock.Anything).Return(def, nil)
			mockTraining(env)
			var got []temporal.SearchAttributes
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				if sa := args.Get(0).(temporal.SearchAttributes); sa.ContainsKey(ModelVersionAttribute) || sa.ContainsKey(ApprovalStatusAttribute) {
					got = append(got, sa)
				}
			}).Return(nil).Maybe()
			env.ExecuteWorkflow(Training, TrainingInput{ModelName: "m", DataDate: "2019-10-01", Champion: tc.champion})
			require.NoError(t, env.GetWorkflowError())
			if !tc.wantSet {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			v, _ := got[0].GetInt64(ModelVersionAttribute)
			status, _ := got[0].GetKeyword(ApprovalStatusAttribute)
			auc, hasAUC := got[0].GetFloat64(AUCAttribute)
			require.Equal(t, int64(2), v)
			require.Equal(t, tc.wantStatus, status)
			require.Equal(t, tc.wantAUC, hasAUC)
			if tc.wantAUC {
				require.Equal(t, challengerAUC, auc)
			}
		})
	}
}
