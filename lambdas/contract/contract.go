// Package contract is the wire contract of the pipelines' Lambda functions: their names, events, outputs and
// error types, and the rules of the pipelines' requests. The functions (package lambdas) implement it, the
// Temporal activities (package activities) call it, and the Step Functions state machines (package parity)
// pass and select its fields, all from these declarations.
//
// It has no dependencies outside the standard library and this module's internal/quote and
// internal/strictjson, so that callers need
// not link the handlers, aws-lambda-go or an AWS SDK to speak to the functions.
//
// Events and outputs keep the field names of the original re:Invent 2019 workshop functions. A failed
// invocation's payload is a FunctionError whose Type is one of the Error* constants.
package contract

import (
	"encoding/json"
	"slices"

	"github.com/mdlc/mdlc/internal/strictjson"
)

// Function names, as deployed and as registered in localaws; the worker's defaults.
const (
	// InitializeTrainingFunction validates a training request, checks its data and names the training job.
	InitializeTrainingFunction = "initialize-training"
	// InitializeInferenceFunction validates an inference request, checks its data and names the transform job.
	InitializeInferenceFunction = "initialize-inference"
	// MonitorPerformanceFunction computes the ROC AUC of batch-transform predictions against the target.
	MonitorPerformanceFunction = "monitor-performance"
)

// Error types, reported as a failed invocation's errorType. All but ErrorS3 and ErrorInternal are permanent
// (see PermanentErrors): retrying the same event gives the same error.
const (
	// ErrorInvalidInput: the event is malformed — bad JSON, a WorkflowInput that breaks a rule of
	// RequestRules, an invalid bucket name or S3 URI, a RunTime that is not RFC 3339.
	ErrorInvalidInput = "InvalidInput"
	// ErrorDataNotFound: an S3 object, prefix or bucket the run needs does not exist.
	ErrorDataNotFound = "DataNotFound"
	// ErrorInvalidData: a prediction or target file cannot be scored — not one number per line, NaN or
	// Inf, a target not 0/1, an empty file, or prediction and target counts that differ.
	ErrorInvalidData = "InvalidData"
	// ErrorUndefinedMetric: the target holds a single class, so the ROC AUC does not exist.
	ErrorUndefinedMetric = "UndefinedMetric"
	// ErrorS3 is any other S3 failure (throttling, 5xx, access denied, network); worth retrying.
	ErrorS3 = "S3Error"
	// ErrorInternal is a bug in the function; it should never be seen.
	ErrorInternal = "InternalError"
)

// PermanentErrors returns the error types that say the event or its data is wrong: a caller should not retry
// them. The activities make them non-retryable; the state machines' Retry blocks exclude them.
func PermanentErrors() []string {
	return []string{ErrorInvalidInput, ErrorDataNotFound, ErrorInvalidData, ErrorUndefinedMetric}
}

// Permanent reports whether errorType is one of PermanentErrors.
func Permanent(errorType string) bool { return slices.Contains(PermanentErrors(), errorType) }

// FunctionError is the payload of a failed invocation, as the Lambda runtime writes it (aws-lambda-go's
// messages.InvokeResponse_Error encodes to these fields).
type FunctionError struct {
	// Message says what failed, naming the object (an S3 URI, a field, a line).
	Message string `json:"errorMessage"`
	// Type is one of the Error* constants for the pipelines' functions.
	Type string `json:"errorType"`
}

// InitializeEvent is the event of both initialize functions.
type InitializeEvent struct {
	// WorkflowInput is the pipeline's input, as a user starts it.
	WorkflowInput WorkflowInput `json:"WorkflowInput"`
	// S3RootBucket holds the input data and receives the outputs.
	S3RootBucket string `json:"S3RootBucket"`
	// IdempotencyKey identifies the logical run (a Temporal workflow ID, a Step Functions execution ID):
	// the same key gives the same job name. Optional: without it the name gets a random suffix.
	IdempotencyKey string `json:"IdempotencyKey,omitempty"`
	// RunTime is when the logical run started, RFC 3339 (the workflow's or execution's start time), so a
	// retry dates the run identically. Optional: the function's clock otherwise.
	RunTime string `json:"RunTime,omitempty"`
	// Request (optional) is the pipeline's input exactly as the user gave it: the state machines pass their
	// execution input. When present, the function checks it as the workflows decode theirs: an object whose
	// keys are exactly RequestFields of the kind (no misspelt, wrong-case or other pipeline's field), each
	// value of the field's JSON type. The workflows, which have checked their input so, leave it out.
	Request json.RawMessage `json:"Request,omitempty"`
	// RetrainCooldownSeconds is the retrain guard's cooldown (batch inference only, optional): the
	// initialize-inference function returns the cutoffs of the guard's registry checks (RetrainGuard), which
	// a state machine cannot compute itself. 0 or absent: no cooldown. initialize-training ignores it.
	RetrainCooldownSeconds int64 `json:"RetrainCooldownSeconds,omitempty"`
}

// WorkflowInput is what a user passes to start a pipeline.
type WorkflowInput struct {
	// ModelName names the model; it becomes the model package group and prefixes job names, so it must be a
	// valid SageMaker name (letters, digits, hyphens, at most 63 characters).
	ModelName string `json:"ModelName"`
	// DataDate selects the data set, YYYY-MM-DD: s3://<bucket>/input-data/<DataDate>/.
	DataDate string `json:"DataDate"`
	// DataDateOffset (optional) makes the request a scheduled one: it has no DataDate, which is derived from
	// the schedule's nominal time plus this many days, e.g. "-1d" (see ResolveDataDate).
	DataDateOffset string `json:"DataDateOffset,omitempty"`
	// ScheduledTime (optional, RFC 3339) is a scheduled request's nominal time, as EventBridge Scheduler
	// substitutes it (ScheduledTimePlaceholder). A Temporal run started by a schedule needs none: the
	// workflow reads the TemporalScheduledStartTime search attribute.
	ScheduledTime string `json:"ScheduledTime,omitempty"`
	// ApprovalStatus (training only, optional) is the status the new model version is registered with:
	// Approved or PendingManualApproval; empty means the default. The state machines pass it, with their
	// default filled in, so that the function checks it as the workflow does.
	ApprovalStatus string `json:"ApprovalStatus,omitempty"`
	// Threshold (batch inference only, optional) is the AUC below which the run retrains, in [0, 1]; absent
	// or null means the default. The state machines pass it, with their default filled in, to be checked.
	Threshold *float64 `json:"Threshold,omitempty"`
	// Champion (training only, optional) is the model version the new one must beat (see Champion): a
	// batch-inference run that retrains passes the version it just scored. Absent or null: no champion, and
	// the new version is registered with ApprovalStatus, unevaluated. initialize-training takes it from the
	// event's Request when absent here (a state machine has no null to fill in for an absent one).
	Champion *Champion `json:"Champion,omitempty"`
	// PromotionMargin (both pipelines, optional) is how much the challenger's AUC must exceed the champion's
	// to be promoted, in [0, 1]; absent or null means the default. Batch inference passes it to its retrain.
	PromotionMargin *float64 `json:"PromotionMargin,omitempty"`
}

// Champion is the model version a retrained model (the challenger) must beat: the version a batch-inference
// run scored and its AUC on that run's data date. The training run scores the challenger on the same holdout
// data and promotes it only when Promotes says so.
type Champion struct {
	// ModelPackageArn and ModelPackageVersion identify the champion's model package.
	ModelPackageArn     string `json:"ModelPackageArn"`
	ModelPackageVersion int32  `json:"ModelPackageVersion"`
	// SageMakerModelName is the SageMaker model that scored the data.
	SageMakerModelName string `json:"SageMakerModelName"`
	// AUC is the champion's ROC AUC on the data date's holdout data.
	AUC float64 `json:"AUC"`
}

// UnmarshalJSON decodes a Champion strictly, as the requests are (see internal/strictjson): a key that is no
// field of Champion is an error, not ignored.
func (c *Champion) UnmarshalJSON(data []byte) error {
	type fields Champion // without this method
	var f fields
	err := strictjson.Decode(data, &f)
	*c = Champion(f)
	return err
}

// S3Location is one S3 object or prefix, as a key in S3RootBucket and as a URI.
type S3Location struct {
	// S3Key is the key or prefix within S3RootBucket.
	S3Key string `json:"S3Key"`
	// S3Uri is s3://<S3RootBucket>/<S3Key>.
	S3Uri string `json:"S3Uri"`
}

// InitializeTrainingOutput is what initialize-training returns.
type InitializeTrainingOutput struct {
	// WorkflowRequest is the event's WorkflowInput.
	WorkflowRequest WorkflowInput `json:"WorkflowRequest"`
	// S3RootBucket is the event's bucket.
	S3RootBucket string `json:"S3RootBucket"`
	// DataDate is WorkflowRequest.DataDate.
	DataDate string `json:"DataDate"`
	// RunDate is the run's time, RFC 3339 in UTC to the second.
	RunDate string `json:"RunDate"`
	// TrainingConfig names the training job and its data.
	TrainingConfig TrainingConfig `json:"TrainingConfig"`
	// EvaluationConfig names the evaluation of the new model against a champion (Evaluate Re-trained Model):
	// always named, so that a state machine can select it; its data is checked only when the request has a
	// Champion.
	EvaluationConfig EvaluationConfig `json:"EvaluationConfig"`
}

// EvaluationConfig names the evaluation of a newly trained model (the challenger) on its data date's
// holdout data: the batch transform and monitor of a batch-inference run, for the challenger, and where the
// evaluation's evidence goes.
type EvaluationConfig struct {
	// InferenceConfig is the challenger's batch transform: the training job's name (transform jobs are named
	// apart from training jobs), the holdout data, and output-data/<DataDate>/<run ID>.
	InferenceConfig InferenceConfig `json:"InferenceConfig"`
	// MonitorConfig tells monitor-performance what to compare.
	MonitorConfig MonitorConfig `json:"MonitorConfig"`
	// EvaluationOutput is the evaluation JSON monitor-performance writes: evaluation/<DataDate>/<run ID>/evaluation.json.
	EvaluationOutput S3Location `json:"EvaluationOutput"`
}

// TrainingConfig names a training job and its data.
type TrainingConfig struct {
	// TrainingJobName is unique per run and stable across retries (see package lambdas).
	TrainingJobName string `json:"TrainingJobName"`
	// TrainingInput is the train channel: input-data/<DataDate>/train.
	TrainingInput S3Location `json:"TrainingInput"`
	// ValidationInput is the validation channel: input-data/<DataDate>/validation.
	ValidationInput S3Location `json:"ValidationInput"`
	// TrainingOutput is the job's output path: model/<DataDate>/<run ID>.
	TrainingOutput S3Location `json:"TrainingOutput"`
}

// InitializeInferenceOutput is what initialize-inference returns.
type InitializeInferenceOutput struct {
	// WorkflowRequest is the event's WorkflowInput.
	WorkflowRequest WorkflowInput `json:"WorkflowRequest"`
	// S3RootBucket is the event's bucket.
	S3RootBucket string `json:"S3RootBucket"`
	// DataDate is WorkflowRequest.DataDate.
	DataDate string `json:"DataDate"`
	// RunDate is the run's time, RFC 3339 in UTC to the second.
	RunDate string `json:"RunDate"`
	// InferenceConfig names the batch-transform job and its data.
	InferenceConfig InferenceConfig `json:"InferenceConfig"`
	// MonitorConfig tells monitor-performance what to compare.
	MonitorConfig MonitorConfig `json:"MonitorConfig"`
	// RetrainGuard holds the cutoffs of the retrain guard's registry checks, measured from RunDate.
	RetrainGuard RetrainGuard `json:"RetrainGuard"`
}

// RetrainGuard holds the cutoffs of the retrain guard's registry checks (ListModelPackages'
// CreationTimeAfter), RFC 3339 in UTC: a version registered after CooldownSince is within the cooldown, and
// the versions registered after DaySince count towards the daily cap.
type RetrainGuard struct {
	// CooldownSince is RunDate minus the event's RetrainCooldownSeconds.
	CooldownSince string `json:"CooldownSince"`
	// DaySince is RunDate minus 24 hours.
	DaySince string `json:"DaySince"`
}

// InferenceConfig names a batch-transform job and its data.
type InferenceConfig struct {
	// InferenceJobName is unique per run and stable across retries (see package lambdas).
	InferenceJobName string `json:"InferenceJobName"`
	// InferenceInput is the features to score: input-data/<DataDate>/holdout_data.
	InferenceInput S3Location `json:"InferenceInput"`
	// InferenceOutput is the transform's output path: output-data/<DataDate>/<run ID>.
	InferenceOutput S3Location `json:"InferenceOutput"`
}

// MonitorConfig holds monitor-performance's input.
type MonitorConfig struct {
	// MonitorInput is the pair of files to compare.
	MonitorInput MonitorInput `json:"MonitorInput"`
}

// MonitorInput is the pair of files monitor-performance compares.
type MonitorInput struct {
	// TargetS3Uri is s3://<bucket>/input-data/<DataDate>/holdout_target/holdout_target.csv.
	TargetS3Uri string `json:"TargetS3Uri"`
	// PredictionS3Uri is <InferenceOutput.S3Uri>/holdout_data.csv.out, where batch transform writes.
	PredictionS3Uri string `json:"PredictionS3Uri"`
}

// MonitorEvent is monitor-performance's event.
type MonitorEvent struct {
	// PredictionInput is the batch-transform output: one score per line (see package lambdas/column).
	PredictionInput string `json:"PredictionInput"`
	// TargetInput is the true class of each row, 0 or 1, one per line, in the same order.
	TargetInput string `json:"TargetInput"`
	// Evaluation (optional) asks the function to compare the predictions' AUC with a champion's and to write
	// the evaluation's evidence (see EvaluationFile); the output then has an Evaluation.
	Evaluation *EvaluationRequest `json:"Evaluation,omitempty"`
}

// EvaluationRequest is what monitor-performance needs to evaluate a challenger against its champion.
type EvaluationRequest struct {
	// OutputS3Uri is where the evaluation JSON goes (EvaluationConfig.EvaluationOutput).
	OutputS3Uri string `json:"OutputS3Uri"`
	// DataDate is the date whose holdout data both models scored.
	DataDate string `json:"DataDate"`
	// Champion is the model to beat, with its AUC on the same data.
	Champion Champion `json:"Champion"`
	// PromotionMargin is how much the challenger must exceed the champion's AUC, in [0, 1].
	PromotionMargin float64 `json:"PromotionMargin"`
}

// MonitorOutput is monitor-performance's result.
type MonitorOutput struct {
	// ModelPerformance is the ROC AUC of the predictions, as scikit-learn's roc_auc_score computes it.
	ModelPerformance float64 `json:"ModelPerformance"`
	// Evaluation is the comparison with the champion, when the event asked for one.
	Evaluation *Evaluation `json:"Evaluation,omitempty"`
}
