package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// BatchInference scores one data date's holdout data with the newest approved model, measures the model's
// AUC and retrains it when the AUC falls below the threshold: Initialize → Find Model → Inference → Monitor
// Model Performance → Is Re-training Needed? → Re-train Model (a child Training run, awaited). When the worker
// has a notify URL, the run notifies it as it ends (see notify).
func BatchInference(ctx workflow.Context, in BatchInferenceInput) (BatchInferenceResult, error) {
	t, err := newTracker(ctx, BatchInferenceWorkflow,
		StepInitialize, StepFindModel, StepInference, StepMonitor, StepDecide, StepRetrain)
	if err != nil {
		return BatchInferenceResult{}, err
	}
	w := &batchInference{in: in, t: t}
	res, err := w.run(ctx)
	notify(ctx, t, &w.def, batchInferenceNotification(w.in, res), err)
	return res, err
}

type batchInference struct {
	in BatchInferenceInput
	t  *tracker
	// def holds the worker's defaults once fetched, for the run and its notification.
	def defaults
	// guarded: the run has the retrain guard and the Decision search attribute (retrainGuardChange).
	guarded bool
}

func (w *batchInference) run(ctx workflow.Context) (BatchInferenceResult, error) {
	logger := workflow.GetLogger(ctx)
	in, t := w.in, w.t
	if err := in.requestProblems(); err != nil {
		return BatchInferenceResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	// A scheduled request becomes the dated request it stands for (see resolveDataDate).
	date, err := resolveDataDate(ctx, in.request())
	if err != nil {
		return BatchInferenceResult{}, t.fail(ctx, StepInitialize, invalidInput(err))
	}
	in.DataDate, in.DataDateOffset, in.ScheduledTime = date, "", ""
	w.in = in
	info := workflow.GetInfo(ctx)
	key := runKey(info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	res := BatchInferenceResult{ModelName: in.ModelName, DataDate: in.DataDate}

	def, err := runDefaults(ctx, t, &w.def, in.ModelName, in.DataDate, in.Threshold == nil)
	if err != nil {
		return res, err
	}
	if in.Threshold != nil {
		res.Threshold, res.ThresholdSource = *in.Threshold, "input"
	} else {
		res.Threshold, res.ThresholdSource = def.Threshold, "default"
	}

	plan, err := runActivityStep(ctx, t, step{name: StepInitialize, local: &lambdaOptions, summary: "Initialize: invoke initialize-inference"},
		a.InitializeInference, activities.InitializeInput{ModelName: in.ModelName, DataDate: in.DataDate, IdempotencyKey: key, RunTime: info.WorkflowStartTime},
		func(plan activities.InferencePlan) string { return "holdout data " + plan.InferenceInput.S3Uri })
	if err != nil {
		return res, err
	}

	model, err := runActivityStep(ctx, t, step{name: StepFindModel, job: in.ModelName, local: &apiOptions, summary: "Find Model: newest approved in group " + in.ModelName},
		a.FindModel, activities.FindModelInput{ModelName: in.ModelName},
		func(model activities.FindModelOutput) string {
			return fmt.Sprintf("version %d: %s", model.ModelPackageVersion, model.SageMakerModelName)
		})
	if err != nil {
		return res, err
	}
	res.ModelPackageArn, res.ModelPackageVersion, res.SageMakerModelName = model.ModelPackageArn, model.ModelPackageVersion, model.SageMakerModelName

	transform, err := runActivityStep(ctx, t, step{name: StepInference, job: plan.InferenceJobName, opts: jobOptions, summary: "Inference: transform job " + plan.InferenceJobName},
		a.BatchTransform, activities.TransformInput{Plan: plan, ModelName: model.SageMakerModelName, RunKey: key},
		func(activities.TransformOutput) string { return "predictions " + plan.PredictionS3Uri })
	if err != nil {
		return res, err
	}
	res.TransformJobName, res.PredictionS3Uri = transform.TransformJobName, plan.PredictionS3Uri

	perf, err := runActivityStep(ctx, t, step{name: StepMonitor, local: &lambdaOptions, summary: "Monitor Model Performance: invoke monitor-performance"},
		a.MonitorPerformance, activities.MonitorInput{PredictionS3Uri: plan.PredictionS3Uri, TargetS3Uri: plan.TargetS3Uri},
		func(perf activities.MonitorOutput) string { return fmt.Sprintf("AUC %.4f", perf.AUC) })
	if err != nil {
		return res, err
	}
	res.AUC = perf.AUC

	t.start(ctx, StepDecide, "")
	w.guarded = t.changed(ctx, retrainGuardChange)
	if !NeedsRetraining(res.AUC, res.Threshold) {
		res.Decision = DecisionKeep
		if err := w.recordDecision(ctx, res); err != nil {
			return res, err
		}
		t.decide(ctx, res.Decision, fmt.Sprintf("AUC %.4f >= threshold %.4f (%s): keep the model", res.AUC, res.Threshold, res.ThresholdSource))
		t.skip(ctx, StepRetrain, "not needed")
		logger.Info("Model kept", "AUC", res.AUC, "Threshold", res.Threshold)
		return res, nil
	}
	if !w.guarded {
		return w.retrain(ctx, res, legacyRetrainWorkflowID(info.WorkflowExecution.ID))
	}
	guard, err := runActivityStep(ctx, t, step{name: StepDecide, local: &apiOptions, summary: "Is Re-training Needed?: check the retrain guard of " + in.ModelName},
		a.CheckRetrainGuard, activities.RetrainGuardInput{ModelName: in.ModelName},
		func(activities.RetrainGuardOutput) string { return "" })
	if err != nil {
		return res, err
	}
	if guard.Suppressed != "" {
		return w.suppress(ctx, res, guard.Rule, guard.Suppressed)
	}
	return w.retrain(ctx, res, RetrainWorkflowID(in.ModelName))
}

// recordDecision sets the run's Decision, AUC and ModelVersion search attributes (runs with the retrain guard
// only); its error fails the decision step.
func (w *batchInference) recordDecision(ctx workflow.Context, res BatchInferenceResult) error {
	if !w.guarded {
		return nil
	}
	// With the decision, what it was measured with: the AUC and the version that scored (the champion of a
	// retrain). One upsert, as before them (an upsert's attributes are not part of a replayed command).
	if err := setAttributes(ctx, &w.def, keywordAttr(DecisionAttribute, res.Decision),
		floatAttr(AUCAttribute, res.AUC), intAttr(ModelVersionAttribute, int64(res.ModelPackageVersion))); err != nil {
		return w.t.fail(ctx, StepDecide, err)
	}
	return nil
}

// promotionChange versions the champion a retrain is given (TrainingInput.Champion and PromotionMargin, and
// the worker's defaults fetched for the margin): retrains started before it replay without.
const promotionChange = "champion-challenger"

// retrainGuardChange versions the retrain guard (the registry check before the retrain and the retrain's
// per-model workflow ID) and the Decision search attribute: runs that decided before it replay with the
// per-run child ID, no check and no attribute.
const retrainGuardChange = "retrain-guard"

// retrain records the decision to retrain and runs the retrain child under workflow ID id. A child of that ID
// still open (another run's retrain of the model) suppresses this run's retrain.
func (w *batchInference) retrain(ctx workflow.Context, res BatchInferenceResult, id string) (BatchInferenceResult, error) {
	in, t := w.in, w.t
	info := workflow.GetInfo(ctx)
	res.Decision = DecisionRetrain
	if err := w.recordDecision(ctx, res); err != nil {
		return res, err
	}
	t.decide(ctx, res.Decision, fmt.Sprintf("AUC %.4f < threshold %.4f (%s): retrain", res.AUC, res.Threshold, res.ThresholdSource))

	child := TrainingInput{ModelName: in.ModelName, DataDate: in.DataDate}
	if t.changed(ctx, promotionChange) {
		// The model that scored this run is the retrain's champion, with the AUC just measured.
		child.Champion = &contract.Champion{
			ModelPackageArn: res.ModelPackageArn, ModelPackageVersion: res.ModelPackageVersion,
			SageMakerModelName: res.SageMakerModelName, AUC: res.AUC,
		}
		child.PromotionMargin = in.PromotionMargin
		if child.PromotionMargin == nil {
			def, err := w.def.get(ctx)
			if err != nil {
				return res, t.fail(ctx, StepRetrain, err)
			}
			child.PromotionMargin = &def.PromotionMargin
		}
	}

	res.RetrainWorkflowID = id
	retrained, running, err := runExclusiveChildStep(ctx, t, StepRetrain, workflow.ChildWorkflowOptions{
		WorkflowID:    id,
		TaskQueue:     info.TaskQueueName,
		StaticSummary: fmt.Sprintf("Re-train %s on %s (AUC %.4f < %.4f)", in.ModelName, in.DataDate, res.AUC, res.Threshold),
		// Cancelling or terminating the batch-inference run cancels the retraining too, which stops its
		// SageMaker job: a retrain nobody waits for would register a model behind the operator's back.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: childSearchAttributes(ctx),
	}, Training, child,
		func(retrained TrainingResult) string {
			detail := fmt.Sprintf("registered version %d", retrained.ModelPackageVersion)
			if e := retrained.Evaluation; e != nil {
				detail += fmt.Sprintf(" %s: %s", retrained.ApprovalStatus, e.Reason)
			}
			return detail
		})
	if running {
		res.RetrainWorkflowID = ""
		return w.suppress(ctx, res, GuardRunning, fmt.Sprintf("a retrain of %s is already running (workflow %s); this run does not wait for it", in.ModelName, id))
	}
	if err != nil {
		return res, err
	}
	res.Retrain = &retrained
	workflow.GetLogger(ctx).Info("Model retrained", "AUC", res.AUC, "Threshold", res.Threshold, "ModelPackageArn", retrained.ModelPackageArn)
	return res, nil
}

// suppress records a retrain that was needed but that the guard rule held back, for why: in the result, the
// decision step and the skipped retrain step (the live lines), the Decision search attribute, the log and the
// RetrainSuppressedMetric.
func (w *batchInference) suppress(ctx workflow.Context, res BatchInferenceResult, rule, why string) (BatchInferenceResult, error) {
	t := w.t
	res.Decision, res.RetrainGuard, res.RetrainSuppressed = DecisionRetrainSuppressed, rule, SuppressedPrefix+why
	if err := w.recordDecision(ctx, res); err != nil {
		return res, err
	}
	t.decide(ctx, res.Decision, fmt.Sprintf("AUC %.4f < threshold %.4f (%s): %s", res.AUC, res.Threshold, res.ThresholdSource, res.RetrainSuppressed))
	t.skip(ctx, StepRetrain, "suppressed ("+rule+"): "+why)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"model": w.in.ModelName, "rule": rule}).Counter(RetrainSuppressedMetric).Inc(1)
	workflow.GetLogger(ctx).Warn("Retrain suppressed", "ModelName", w.in.ModelName, "Rule", rule, "Reason", why, "AUC", res.AUC, "Threshold", res.Threshold)
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
