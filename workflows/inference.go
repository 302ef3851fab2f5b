package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
)

// BatchInference scores one data date's holdout data with the newest approved model, measures the model's
// AUC and retrains it when the AUC falls below the threshold: Initialize → Find Model → Inference → Monitor
// Model Performance → Is Re-training Needed? → Re-train Model (a child Training run, awaited).
func BatchInference(ctx workflow.Context, in BatchInferenceInput) (BatchInferenceResult, error) {
	t, err := newTracker(ctx, BatchInferenceWorkflow,
		StepInitialize, StepFindModel, StepInference, StepMonitor, StepDecide, StepRetrain)
	if err != nil {
		return BatchInferenceResult{}, err
	}
	return (&batchInference{in: in, t: t}).run(ctx)
}

type batchInference struct {
	in BatchInferenceInput
	t  *tracker
}

func (w *batchInference) run(ctx workflow.Context) (BatchInferenceResult, error) {
	logger := workflow.GetLogger(ctx)
	in, t := w.in, w.t
	if err := in.requestProblems(); err != nil {
		return BatchInferenceResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	info := workflow.GetInfo(ctx)
	key := runKey(info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	res := BatchInferenceResult{ModelName: in.ModelName, DataDate: in.DataDate}

	var def defaults
	if err := setSearchAttributes(ctx, &def, in.ModelName, in.DataDate); err != nil {
		return res, t.fail(ctx, StepInitialize, err)
	}
	if in.Threshold != nil {
		res.Threshold, res.ThresholdSource = *in.Threshold, "input"
	} else {
		d, err := def.get(ctx)
		if err != nil {
			return res, t.fail(ctx, StepInitialize, err)
		}
		res.Threshold, res.ThresholdSource = d.Threshold, "default"
	}

	t.start(ctx, StepInitialize, "")
	var plan activities.InferencePlan
	err := workflow.ExecuteActivity(with(ctx, lambdaOptions, "Initialize: invoke initialize-inference"), a.InitializeInference,
		activities.InitializeInput{ModelName: in.ModelName, DataDate: in.DataDate, IdempotencyKey: key, RunTime: info.WorkflowStartTime}).Get(ctx, &plan)
	if err != nil {
		return res, t.fail(ctx, StepInitialize, err)
	}
	t.done(ctx, StepInitialize, "holdout data "+plan.InferenceInput.S3Uri)

	t.start(ctx, StepFindModel, in.ModelName)
	var model activities.FindModelOutput
	err = workflow.ExecuteActivity(with(ctx, apiOptions, "Find Model: newest approved in group "+in.ModelName), a.FindModel,
		activities.FindModelInput{ModelName: in.ModelName}).Get(ctx, &model)
	if err != nil {
		return res, t.fail(ctx, StepFindModel, err)
	}
	res.ModelPackageArn, res.SageMakerModelName = model.ModelPackageArn, model.SageMakerModelName
	t.done(ctx, StepFindModel, fmt.Sprintf("version %d: %s", model.ModelPackageVersion, model.SageMakerModelName))

	t.start(ctx, StepInference, plan.InferenceJobName)
	var transform activities.TransformOutput
	err = workflow.ExecuteActivity(with(ctx, jobOptions, "Inference: transform job "+plan.InferenceJobName), a.BatchTransform,
		activities.TransformInput{Plan: plan, ModelName: model.SageMakerModelName, RunKey: key}).Get(ctx, &transform)
	if err != nil {
		return res, t.fail(ctx, StepInference, err)
	}
	res.TransformJobName, res.PredictionS3Uri = transform.TransformJobName, plan.PredictionS3Uri
	t.done(ctx, StepInference, "predictions "+plan.PredictionS3Uri)

	t.start(ctx, StepMonitor, "")
	var perf activities.MonitorOutput
	err = workflow.ExecuteActivity(with(ctx, lambdaOptions, "Monitor Model Performance: invoke monitor-performance"), a.MonitorPerformance,
		activities.MonitorInput{PredictionS3Uri: plan.PredictionS3Uri, TargetS3Uri: plan.TargetS3Uri}).Get(ctx, &perf)
	if err != nil {
		return res, t.fail(ctx, StepMonitor, err)
	}
	res.AUC = perf.AUC
	t.done(ctx, StepMonitor, fmt.Sprintf("AUC %.4f", perf.AUC))

	t.start(ctx, StepDecide, "")
	if !NeedsRetraining(res.AUC, res.Threshold) {
		res.Decision, t.p.Decision = DecisionKeep, DecisionKeep
		t.done(ctx, StepDecide, fmt.Sprintf("AUC %.4f >= threshold %.4f (%s): keep the model", res.AUC, res.Threshold, res.ThresholdSource))
		t.skip(ctx, StepRetrain, "not needed")
		logger.Info("Model kept", "AUC", res.AUC, "Threshold", res.Threshold)
		return res, nil
	}
	res.Decision, t.p.Decision = DecisionRetrain, DecisionRetrain
	t.done(ctx, StepDecide, fmt.Sprintf("AUC %.4f < threshold %.4f (%s): retrain", res.AUC, res.Threshold, res.ThresholdSource))

	res.RetrainWorkflowID = RetrainWorkflowID(info.WorkflowExecution.ID)
	t.start(ctx, StepRetrain, res.RetrainWorkflowID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    res.RetrainWorkflowID,
		TaskQueue:     info.TaskQueueName,
		StaticSummary: fmt.Sprintf("Re-train %s on %s (AUC %.4f < %.4f)", in.ModelName, in.DataDate, res.AUC, res.Threshold),
		// Cancelling or terminating the batch-inference run cancels the retraining too, which stops its
		// SageMaker job: a retrain nobody waits for would register a model behind the operator's back.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: childSearchAttributes(ctx),
	})
	var retrained TrainingResult
	err = workflow.ExecuteChildWorkflow(cctx, Training, TrainingInput{ModelName: in.ModelName, DataDate: in.DataDate}).Get(ctx, &retrained)
	if err != nil {
		return res, t.fail(ctx, StepRetrain, err)
	}
	res.Retrain = &retrained
	t.done(ctx, StepRetrain, fmt.Sprintf("registered version %d", retrained.ModelPackageVersion))
	logger.Info("Model retrained", "AUC", res.AUC, "Threshold", res.Threshold, "ModelPackageArn", retrained.ModelPackageArn)
	return res, nil
}

// childSearchAttributes passes the run's ModelName and DataDate search attributes on to its child, when the
// run has them (a run started without them, e.g. on a server where they are not registered, passes none).
func childSearchAttributes(ctx workflow.Context) temporal.SearchAttributes {
	sa := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	if v, ok := sa.GetKeyword(ModelNameAttribute); ok {
		updates = append(updates, ModelNameAttribute.ValueSet(v))
	}
	if v, ok := sa.GetKeyword(DataDateAttribute); ok {
		updates = append(updates, DataDateAttribute.ValueSet(v))
	}
	return temporal.NewSearchAttributes(updates...)
}
