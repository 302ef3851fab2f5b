package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Training trains a model on one data date with SageMaker and registers it: Initialize → Train Model →
// Create Model → Register Model. When the worker has a notify URL, the run notifies it as it ends (see notify).
func Training(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
	t, err := newTracker(ctx, TrainingWorkflow, StepInitialize, StepTrainModel, StepCreateModel, StepRegister)
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

	def, err := runDefaults(ctx, t, &w.def, in.ModelName, in.DataDate, in.ApprovalStatus == "")
	if err != nil {
		return TrainingResult{}, err
	}
	approval := in.ApprovalStatus
	if approval == "" {
		approval = def.ApprovalStatus
	}

	plan, err := runActivityStep(ctx, t, step{name: StepInitialize, opts: lambdaOptions, summary: "Initialize: invoke initialize-training"},
		a.InitializeTraining, activities.InitializeInput{ModelName: in.ModelName, DataDate: in.DataDate, IdempotencyKey: key, RunTime: info.WorkflowStartTime},
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

	model, err := runActivityStep(ctx, t, step{name: StepCreateModel, job: trained.TrainingJobName, opts: apiOptions, summary: "Create Model: " + trained.TrainingJobName},
		a.CreateModel, activities.CreateModelInput{ModelName: trained.TrainingJobName, ModelDataURL: trained.ModelArtifacts, RunKey: key},
		func(model activities.CreateModelOutput) string { return model.ModelArn })
	if err != nil {
		return TrainingResult{}, err
	}

	pkg, err := runActivityStep(ctx, t, step{name: StepRegister, job: in.ModelName, opts: apiOptions, summary: "Register Model: group " + in.ModelName},
		a.RegisterModel, activities.RegisterModelInput{
			Group: in.ModelName, SageMakerModelName: model.ModelName, ModelDataURL: trained.ModelArtifacts,
			TrainingJobName: trained.TrainingJobName, DataDate: in.DataDate, ApprovalStatus: approval, RunKey: key,
		},
		func(pkg activities.RegisterModelOutput) string {
			return fmt.Sprintf("version %d (%s)", pkg.ModelPackageVersion, pkg.ApprovalStatus)
		})
	if err != nil {
		return TrainingResult{}, err
	}

	logger.Info("Training complete", "ModelName", in.ModelName, "TrainingJobName", trained.TrainingJobName, "ModelPackageArn", pkg.ModelPackageArn)
	return TrainingResult{
		ModelName:           in.ModelName,
		DataDate:            in.DataDate,
		TrainingJobName:     trained.TrainingJobName,
		ModelArtifacts:      trained.ModelArtifacts,
		SageMakerModelName:  model.ModelName,
		ModelPackageArn:     pkg.ModelPackageArn,
		ModelPackageVersion: pkg.ModelPackageVersion,
		ApprovalStatus:      pkg.ApprovalStatus,
		FinalMetrics:        trained.FinalMetrics,
	}, nil
}
