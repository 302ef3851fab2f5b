package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Training trains a model on one data date with SageMaker and registers it: Initialize → Train Model →
// Create Model → Register Model.
func Training(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
	t, err := newTracker(ctx, TrainingWorkflow, StepInitialize, StepTrainModel, StepCreateModel, StepRegister)
	if err != nil {
		return TrainingResult{}, err
	}
	return (&training{in: in, t: t}).run(ctx)
}

type training struct {
	in TrainingInput
	t  *tracker
}

func (w *training) run(ctx workflow.Context) (TrainingResult, error) {
	logger := workflow.GetLogger(ctx)
	in, t := w.in, w.t
	if err := in.requestProblems(); err != nil {
		return TrainingResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	info := workflow.GetInfo(ctx)
	key := runKey(info.WorkflowExecution.ID, info.WorkflowExecution.RunID)

	var def defaults
	if err := setSearchAttributes(ctx, &def, in.ModelName, in.DataDate); err != nil {
		return TrainingResult{}, t.fail(ctx, StepInitialize, err)
	}
	approval := in.ApprovalStatus
	if approval == "" {
		d, err := def.get(ctx)
		if err != nil {
			return TrainingResult{}, t.fail(ctx, StepInitialize, err)
		}
		approval = d.ApprovalStatus
	}

	t.start(ctx, StepInitialize, "")
	var plan activities.TrainingPlan
	err := workflow.ExecuteActivity(with(ctx, lambdaOptions, "Initialize: invoke initialize-training"), a.InitializeTraining,
		activities.InitializeInput{ModelName: in.ModelName, DataDate: in.DataDate, IdempotencyKey: key, RunTime: info.WorkflowStartTime}).Get(ctx, &plan)
	if err != nil {
		return TrainingResult{}, t.fail(ctx, StepInitialize, err)
	}
	t.done(ctx, StepInitialize, "training data "+plan.TrainingInput.S3Uri)

	t.start(ctx, StepTrainModel, plan.TrainingJobName)
	var trained activities.TrainModelOutput
	err = workflow.ExecuteActivity(with(ctx, jobOptions, "Train Model: training job "+plan.TrainingJobName), a.TrainModel,
		activities.TrainModelInput{Plan: plan, RunKey: key}).Get(ctx, &trained)
	if err != nil {
		return TrainingResult{}, t.fail(ctx, StepTrainModel, err)
	}
	t.done(ctx, StepTrainModel, "artifacts "+trained.ModelArtifacts)

	t.start(ctx, StepCreateModel, trained.TrainingJobName)
	var model activities.CreateModelOutput
	err = workflow.ExecuteActivity(with(ctx, apiOptions, "Create Model: "+trained.TrainingJobName), a.CreateModel,
		activities.CreateModelInput{ModelName: trained.TrainingJobName, ModelDataURL: trained.ModelArtifacts, RunKey: key}).Get(ctx, &model)
	if err != nil {
		return TrainingResult{}, t.fail(ctx, StepCreateModel, err)
	}
	t.done(ctx, StepCreateModel, model.ModelArn)

	t.start(ctx, StepRegister, in.ModelName)
	var pkg activities.RegisterModelOutput
	err = workflow.ExecuteActivity(with(ctx, apiOptions, "Register Model: group "+in.ModelName), a.RegisterModel,
		activities.RegisterModelInput{
			Group: in.ModelName, SageMakerModelName: model.ModelName, ModelDataURL: trained.ModelArtifacts,
			TrainingJobName: trained.TrainingJobName, DataDate: in.DataDate, ApprovalStatus: approval, RunKey: key,
		}).Get(ctx, &pkg)
	if err != nil {
		return TrainingResult{}, t.fail(ctx, StepRegister, err)
	}
	t.done(ctx, StepRegister, fmt.Sprintf("version %d (%s)", pkg.ModelPackageVersion, pkg.ApprovalStatus))

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
