package workflows

import (
	"fmt"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Training trains a model on one data date with SageMaker and registers it: Initialize → Train Model →
// Create Model → Evaluate Re-trained Model → Is the New Model Better? → Register Model. The two evaluation
// steps run only when the request names a Champion (a retrain by batch inference does): the new model
// scores the data date's holdout data as the champion did, and is registered Rejected unless its AUC reaches
// the champion's plus the promotion margin (see contract.Promotes). Without a champion they are skipped and
// the version is registered with the requested approval status. A version registered PendingManualApproval
// (never a Rejected challenger) is then waited on: Wait for Approval (see approval.go). When the worker has a
// notify URL, the run notifies it as it ends (see notify).
//
// The evaluation needs no workflow.GetVersion: it runs only for a request with a Champion, a field no run
// recorded before it could have (strict decoding refused unknown fields), so those histories replay as they
// were.
func Training(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
	t, err := newTracker(ctx, TrainingWorkflow, StepInitialize, StepTrainModel, StepCreateModel, StepEvaluate, StepPromote, StepRegister)
	if err != nil {
		return TrainingResult{}, err
	}
	w := &training{in: in, t: t}
	res, err := w.run(ctx)
	notify(ctx, t, &w.def, trainingNotification(w.in, res), err)
	return res, err
}

type training struct {
	in TrainingInput
	t  *tracker
	// def holds the worker's defaults once fetched, for the run and its notification.
	def defaults
}

func (w *training) run(ctx workflow.Context) (TrainingResult, error) {
	logger := workflow.GetLogger(ctx)
	in, t := w.in, w.t
	if err := in.requestProblems(); err != nil {
		return TrainingResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	// A scheduled request becomes the dated request it stands for (see resolveDataDate).
	date, err := resolveDataDate(ctx, in.request())
	if err != nil {
		return TrainingResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	in.DataDate, in.DataDateOffset, in.ScheduledTime = date, "", ""
	w.in = in
	info := workflow.GetInfo(ctx)
	key := runKey(info.WorkflowExecution.ID, info.WorkflowExecution.RunID)

	def, err := runDefaults(ctx, t, &w.def, in.ModelName, in.DataDate,
		in.ApprovalStatus == "" || in.Champion != nil && in.PromotionMargin == nil)
	if err != nil {
		return TrainingResult{}, err
	}
	approval := in.ApprovalStatus
	if approval == "" {
		approval = def.ApprovalStatus
	}
	margin := def.PromotionMargin
	if in.PromotionMargin != nil {
		margin = *in.PromotionMargin
	}

	plan, err := runActivityStep(ctx, t, step{name: StepInitialize, local: &lambdaOptions, summary: "Initialize: invoke initialize-training"},
		a.InitializeTraining, activities.InitializeInput{ModelName: in.ModelName, DataDate: in.DataDate, IdempotencyKey: key, RunTime: info.WorkflowStartTime, Champion: in.Champion},
		func(plan activities.TrainingPlan) string { return "training data " + plan.TrainingInput.S3Uri })
	if err != nil {
		return TrainingResult{}, err
	}

	trained, err := runActivityStep(ctx, t, step{name: StepTrainModel, job: plan.TrainingJobName, opts: jobOptions, summary: "Train Model: training job " + plan.TrainingJobName},
		a.TrainModel, activities.TrainModelInput{Plan: plan, RunKey: key},
		func(trained activities.TrainModelOutput) string { return "artifacts " + trained.ModelArtifacts })
	if err != nil {
		return TrainingResult{}, err
	}

	model, err := runActivityStep(ctx, t, step{name: StepCreateModel, job: trained.TrainingJobName, local: &apiOptions, summary: "Create Model: " + trained.TrainingJobName},
		a.CreateModel, activities.CreateModelInput{ModelName: trained.TrainingJobName, ModelDataURL: trained.ModelArtifacts, RunKey: key},
		func(model activities.CreateModelOutput) string { return model.ModelArn })
	if err != nil {
		return TrainingResult{}, err
	}

	eval, err := w.evaluate(ctx, plan, model.ModelName, key, margin)
	if err != nil {
		return TrainingResult{}, err
	}
	summary := "Register Model: group " + in.ModelName
	var evidence *contract.Evaluation
	if eval != nil {
		evidence = &eval.evidence
		if eval.Decision == contract.DecisionRejected {
			approval = contract.ApprovalRejected
		}
		summary += fmt.Sprintf(", %s (challenger AUC %.4f, champion AUC %.4f, margin %g)", approval, eval.ChallengerAUC, eval.Champion.AUC, eval.PromotionMargin)
	}

	pkg, err := runActivityStep(ctx, t, step{name: StepRegister, job: in.ModelName, local: &apiOptions, summary: summary},
		a.RegisterModel, activities.RegisterModelInput{
			Group: in.ModelName, SageMakerModelName: model.ModelName, ModelDataURL: trained.ModelArtifacts,
			TrainingJobName: trained.TrainingJobName, DataDate: in.DataDate, ApprovalStatus: approval, RunKey: key,
			Evaluation: evidence,
		},
		func(pkg activities.RegisterModelOutput) string {
			return fmt.Sprintf("version %d (%s)", pkg.ModelPackageVersion, pkg.ApprovalStatus)
		})
	if err != nil {
		return TrainingResult{}, err
	}

	if err := w.recordRegistration(ctx, pkg, eval); err != nil {
		return TrainingResult{}, err
	}
	approvalStatus, outcome := pkg.ApprovalStatus, (*ApprovalOutcome)(nil)
	if pkg.ApprovalStatus == string(smtypes.ModelApprovalStatusPendingManualApproval) &&
		t.changed(ctx, approvalWaitChange) {
		o, err := w.awaitApproval(ctx, pkg)
		if err != nil {
			return TrainingResult{}, err
		}
		if outcome = &o; o.Decision != ApprovalNoDecision {
			approvalStatus = o.Decision
		}
	}

	logger.Info("Training complete", "ModelName", in.ModelName, "TrainingJobName", trained.TrainingJobName, "ModelPackageArn", pkg.ModelPackageArn)
	res := TrainingResult{
		ModelName:           in.ModelName,
		DataDate:            in.DataDate,
		TrainingJobName:     trained.TrainingJobName,
		ModelArtifacts:      trained.ModelArtifacts,
		SageMakerModelName:  model.ModelName,
		ModelPackageArn:     pkg.ModelPackageArn,
		ModelPackageVersion: pkg.ModelPackageVersion,
		ApprovalStatus:      approvalStatus,
		Approval:            outcome,
		FinalMetrics:        trained.FinalMetrics,
	}
	if eval != nil {
		res.Evaluation = &eval.Evaluation
	}
	return res, nil
}

// registrationAttributesChange versions the search attributes a training run sets once it registered its
// version: runs recorded before them replay without the upsert.
const registrationAttributesChange = "registration-attributes"

// recordRegistration sets the run's ModelVersion and ApprovalStatus search attributes, and its AUC (the new
// model's on the holdout data) when it was evaluated, so that `starter list` and the web UI show what each
// training run registered (`ApprovalStatus="Rejected"`). Its error fails Register Model.
func (w *training) recordRegistration(ctx workflow.Context, pkg activities.RegisterModelOutput, eval *evaluation) error {
	if !w.t.changed(ctx, registrationAttributesChange) {
		return nil
	}
	updates := []attributeUpdate{intAttr(ModelVersionAttribute, int64(pkg.ModelPackageVersion)), keywordAttr(ApprovalStatusAttribute, pkg.ApprovalStatus)}
	if eval != nil {
		updates = append(updates, floatAttr(AUCAttribute, eval.ChallengerAUC))
	}
	if err := setAttributes(ctx, &w.def, updates...); err != nil {
		return w.t.fail(ctx, StepRegister, err)
	}
	return nil
}

// evaluation is a run's Evaluation and the evidence monitor-performance returned for the registry.
type evaluation struct {
	Evaluation
	evidence contract.Evaluation
}

// evaluate runs Evaluate Re-trained Model and Is the New Model Better? for a run with a champion: the new
// SageMaker model's batch transform of the holdout data and monitor-performance, as batch inference runs
// them for the champion (same requests, job named by Initialize), then the promotion rule. Without a champion
// both steps are skipped and evaluate returns nil.
func (w *training) evaluate(ctx workflow.Context, plan activities.TrainingPlan, modelName, key string, margin float64) (*evaluation, error) {
	in, t := w.in, w.t
	if in.Champion == nil {
		t.skip(ctx, StepEvaluate, "no champion")
		t.skip(ctx, StepPromote, "no champion")
		return nil, nil
	}
	champion := *in.Champion
	ep := plan.Evaluation.Transform
	_, err := runActivityStep(ctx, t, step{name: StepEvaluate, job: ep.InferenceJobName, opts: jobOptions,
		summary: "Evaluate Re-trained Model: transform job " + ep.InferenceJobName + " with the new model " + modelName},
		a.BatchTransform, activities.TransformInput{Plan: ep, ModelName: modelName, RunKey: key},
		func(activities.TransformOutput) string { return "predictions " + ep.PredictionS3Uri })
	if err != nil {
		return nil, err
	}
	perf, err := runActivityStep(ctx, t, step{name: StepEvaluate, job: ep.InferenceJobName, local: &lambdaOptions,
		summary: fmt.Sprintf("Evaluate Re-trained Model: invoke monitor-performance (champion version %d AUC %.4f, margin %g)", champion.ModelPackageVersion, champion.AUC, margin)},
		a.MonitorPerformance, activities.MonitorInput{
			PredictionS3Uri: ep.PredictionS3Uri, TargetS3Uri: ep.TargetS3Uri,
			Evaluation: &contract.EvaluationRequest{OutputS3Uri: plan.Evaluation.EvaluationS3Uri, DataDate: in.DataDate, Champion: champion, PromotionMargin: margin},
		},
		func(perf activities.MonitorOutput) string {
			return fmt.Sprintf("challenger AUC %.4f, champion AUC %.4f (version %d), margin %g", perf.AUC, champion.AUC, champion.ModelPackageVersion, margin)
		})
	if err != nil {
		return nil, err
	}

	t.start(ctx, StepPromote, "")
	e := evaluation{evidence: *perf.Evaluation, Evaluation: Evaluation{
		Champion: champion, ChallengerAUC: perf.AUC, PromotionMargin: margin, Decision: contract.DecisionRejected,
		Reason: perf.Evaluation.Reason, EvaluationS3Uri: perf.Evaluation.S3Uri,
	}}
	if contract.Promotes(perf.AUC, contract.PromotionBar(champion.AUC, margin)) {
		e.Decision = contract.DecisionPromoted
	}
	if e.Decision != perf.Evaluation.Decision {
		// The function applies the same rule: a difference means a function of another version is deployed.
		return nil, t.fail(ctx, StepPromote, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"monitor-performance decided %s where the workflow decides %s: deploy the functions of this worker's version", perf.Evaluation.Decision, e.Decision),
			"InvalidFunctionOutput", nil))
	}
	t.promote(ctx, e.Decision, e.Reason)
	workflow.GetLogger(ctx).Info("Challenger evaluated", "Decision", e.Decision, "ChallengerAUC", e.ChallengerAUC,
		"ChampionAUC", champion.AUC, "ChampionVersion", champion.ModelPackageVersion, "PromotionMargin", margin)
	return &e, nil
}
