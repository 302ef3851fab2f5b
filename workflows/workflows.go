// Package workflows holds the mdlc pipelines as Temporal workflows: Training (Initialize → Train Model →
// Create Model → Register Model) and BatchInference (Initialize → Find Model → Inference → Monitor Model
// Performance → Is Re-training Needed? → Re-train Model). They replace the two Step Functions state machines of
// the original workshop; the parity package emits those state machines from the same configuration.
package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// TaskQueue is the task queue the worker polls and the starter starts workflows on.
const TaskQueue = "mdlc"

// Workflow type names, as registered with the worker and shown in the web UI.
const (
	TrainingWorkflow       = "Training"
	BatchInferenceWorkflow = "BatchInference"
)

// ProgressQuery is the name of the query both workflows answer with their Progress.
const ProgressQuery = "progress"

// Search attributes of the runs, so the web UI and `starter list` can filter runs by model, data date,
// decision and metrics (e.g. `AUC < 0.8`). SearchAttributes lists them with their types, which the local
// setups register.
var (
	ModelNameAttribute = temporal.NewSearchAttributeKeyKeyword("ModelName")
	DataDateAttribute  = temporal.NewSearchAttributeKeyKeyword("DataDate")
	// DecisionAttribute is set by a batch-inference run when it decides: DecisionKeep, DecisionRetrain or
	// DecisionRetrainSuppressed.
	DecisionAttribute = temporal.NewSearchAttributeKeyKeyword("Decision")
	// AUCAttribute is the AUC a run measured: a batch-inference run's model on its data date, a training
	// run's evaluated model.
	AUCAttribute = temporal.NewSearchAttributeKeyFloat64("AUC")
	// ModelVersionAttribute is the model package version a run scored with (batch inference) or registered
	// (training).
	ModelVersionAttribute = temporal.NewSearchAttributeKeyInt64("ModelVersion")
	// ApprovalStatusAttribute is the approval status of the version a training run registered, kept up to
	// date while the run waits for a person's decision.
	ApprovalStatusAttribute = temporal.NewSearchAttributeKeyKeyword("ApprovalStatus")
	// TriggerAttribute says what started a run when it was not a person: a schedule or a backfill.
	TriggerAttribute = temporal.NewSearchAttributeKeyKeyword("Trigger")
)

// TrainingWorkflowID is the workflow ID of the training run of a model on a data date. Starting a request
// whose run is still open attaches to it instead of starting a second one.
func TrainingWorkflowID(model, dataDate string) string { return "training-" + model + "-" + dataDate }

// BatchInferenceWorkflowID is the workflow ID of the batch-inference run of a model on a data date.
func BatchInferenceWorkflowID(model, dataDate string) string {
	return "batch-inference-" + model + "-" + dataDate
}

// RetrainWorkflowID is the workflow ID of the training run a batch-inference run starts to retrain model.
// It is one ID per model, not per run, so that the Temporal server itself keeps retrains of a model to one at
// a time: a second run that wants to retrain the model while a retrain runs cannot start its child and
// records the retrain as suppressed (see BatchInference). A closed retrain's ID is reused by the next one.
func RetrainWorkflowID(model string) string { return "retrain-" + model }

// legacyRetrainWorkflowID is the retrain child's workflow ID of runs started before the retrain guard (one
// per parent run), which their histories replay with.
func legacyRetrainWorkflowID(parentWorkflowID string) string { return parentWorkflowID + "-retrain" }

// NeedsRetraining is the pipeline's decision: retrain when the model's AUC on new data is below the
// threshold. Equal does not retrain, as the original state machine's NumericLessThan.
func NeedsRetraining(auc, threshold float64) bool { return auc < threshold }

// TrainingInput is the request of a Training run.
type TrainingInput struct {
	// ModelName names the pipeline: training jobs are named after it and its versions are registered in the
	// model package group of that name.
	ModelName string
	// DataDate (YYYY-MM-DD) selects the training data: s3://<bucket>/input-data/<DataDate>/{train,validation}.
	DataDate string
	// DataDateOffset and ScheduledTime make the request a scheduled one, without a DataDate: the run derives
	// its DataDate from the schedule's nominal time (ScheduledTime, or the TemporalScheduledStartTime search
	// attribute of a run a Temporal schedule started) plus DataDateOffset days; see contract.ResolveDataDate.
	DataDateOffset string `json:",omitempty"`
	ScheduledTime  string `json:",omitempty"`
	// ApprovalStatus of the registered version: Approved or PendingManualApproval; the worker's default
	// (Approved unless configured) when empty. A version that loses to its Champion is registered Rejected
	// whatever this says.
	ApprovalStatus string `json:",omitempty"`
	// Champion is the version the new model must beat. A batch-inference run that retrains sets it to the
	// version it scored, with that version's AUC on DataDate: the run then evaluates the new model on the same
	// holdout data (Evaluate Re-trained Model) and registers it with ApprovalStatus only when
	// contract.Promotes says it is at least as good (Is the New Model Better?), else Rejected. A person
	// starting a training run may set it too (e.g. the version in production and its AUC from a
	// batch-inference run's result); the run trusts the given AUC. Nil: no evaluation, the version is
	// registered with ApprovalStatus as before champion/challenger promotion existed.
	Champion *contract.Champion `json:",omitempty"`
	// PromotionMargin is how much the new model's AUC must exceed the champion's, in [0, 1]; the worker's
	// --promotion-margin (default 0) when nil. Used only with a Champion.
	PromotionMargin *float64 `json:",omitempty"`

	decodeErr error // set by UnmarshalJSON
}

// Evaluation is how a training run's new model (the challenger) compared with its champion.
type Evaluation struct {
	// Champion is the version the challenger had to beat, with its AUC on DataDate's holdout data.
	Champion contract.Champion
	// ChallengerAUC is the new model's AUC on the same data.
	ChallengerAUC float64
	// PromotionMargin is the margin the decision used: promoted when ChallengerAUC >= Champion.AUC + margin.
	PromotionMargin float64
	// Decision is contract.DecisionPromoted (registered with the requested approval status) or
	// contract.DecisionRejected (registered Rejected).
	Decision string
	// Reason says why, with both AUCs (the version's ApprovalDescription).
	Reason string
	// EvaluationS3Uri is the evaluation JSON the version's ModelMetrics names.
	EvaluationS3Uri string
}

// TrainingResult is what a Training run produced.
type TrainingResult struct {
	ModelName       string
	DataDate        string
	TrainingJobName string
	// ModelArtifacts is the S3 URI of the trained model.tar.gz.
	ModelArtifacts string
	// SageMakerModelName is the SageMaker model created from the artifacts.
	SageMakerModelName  string
	ModelPackageArn     string
	ModelPackageVersion int32
	// ApprovalStatus is the version's status when the run ended: as registered, or as a person decided while
	// the run waited (see Approval).
	ApprovalStatus string
	// Approval is how the wait for a person's decision ended, when the version was registered
	// PendingManualApproval: what was decided, by whom, when and how (run update, registry, or no decision at
	// the approval timeout).
	Approval *ApprovalOutcome `json:",omitempty"`
	// FinalMetrics are the training job's final metrics (e.g. "validation:logloss").
	FinalMetrics map[string]float64
	// Evaluation is the comparison with the champion, when the run had one.
	Evaluation *Evaluation `json:",omitempty"`
}

// BatchInferenceInput is the request of a BatchInference run.
type BatchInferenceInput struct {
	ModelName string
	// DataDate (YYYY-MM-DD) selects the holdout data to score: input-data/<DataDate>/holdout_data.
	DataDate string
	// DataDateOffset and ScheduledTime make the request a scheduled one, as for TrainingInput.
	DataDateOffset string `json:",omitempty"`
	ScheduledTime  string `json:",omitempty"`
	// Threshold is the AUC below which the run retrains; the worker's default when nil (absent or null in the
	// JSON request).
	Threshold *float64 `json:",omitempty"`
	// PromotionMargin is passed to the retrain (TrainingInput.PromotionMargin); the worker's default when nil.
	PromotionMargin *float64 `json:",omitempty"`

	decodeErr error // set by UnmarshalJSON
}

// Decision values of a BatchInference run.
const (
	DecisionRetrain = "Retrain"
	DecisionKeep    = "Keep"
	// DecisionRetrainSuppressed: the AUC called for a retrain, but a retrain guard (cooldown, daily cap, or a
	// retrain of the model already running) held it back; RetrainSuppressed says which and why.
	DecisionRetrainSuppressed = "RetrainSuppressed"
)

// SuppressedPrefix starts the reason a run records when it needed a retrain but did not start one.
const SuppressedPrefix = "retrain needed but suppressed: "

// Retrain-guard rules, the "rule" tag of the RetrainSuppressedMetric and RetrainGuard's Rule.
const (
	GuardCooldown = activities.GuardCooldown
	GuardCap      = activities.GuardCap
	GuardRunning  = "running"
)

// RetrainSuppressedMetric counts the retrains a guard suppressed, tagged with the model and the rule; the
// worker exposes it on its Prometheus endpoint (with the SDK's other metrics).
const RetrainSuppressedMetric = "mdlc_retrain_suppressed"

// BatchInferenceResult is what a BatchInference run measured and decided.
type BatchInferenceResult struct {
	ModelName string
	DataDate  string
	// ModelPackageArn, ModelPackageVersion and SageMakerModelName identify the model that scored the data
	// (the champion of a retrain).
	ModelPackageArn     string
	ModelPackageVersion int32 `json:",omitempty"`
	SageMakerModelName  string
	TransformJobName    string
	PredictionS3Uri     string
	// AUC is the ROC AUC of the model's predictions against the holdout target.
	AUC float64
	// Threshold is the threshold the decision used; ThresholdSource says where it came from ("input" or
	// "default").
	Threshold       float64
	ThresholdSource string
	// Decision is DecisionKeep when AUC >= Threshold; below it, DecisionRetrain, or DecisionRetrainSuppressed
	// when a retrain guard held the retrain back.
	Decision string
	// RetrainWorkflowID and Retrain describe the child training run, when the decision was to retrain. When
	// the retrain was suppressed because another run's retrain of the model was running, RetrainWorkflowID
	// names that retrain.
	RetrainWorkflowID string          `json:",omitempty"`
	Retrain           *TrainingResult `json:",omitempty"`
	// RetrainSuppressed is, with DecisionRetrainSuppressed, why the needed retrain did not run ("retrain
	// needed but suppressed: …"), and RetrainGuard the rule that held it back (GuardCooldown, GuardCap or
	// GuardRunning).
	RetrainSuppressed string `json:",omitempty"`
	RetrainGuard      string `json:",omitempty"`
}

// Validate reports what is wrong with the request: every training rule of contract.RequestRules, which the
// initialize-training function checks again for the state machine.
func (in TrainingInput) Validate() error {
	return contract.ValidateRequest(contract.TrainingRequest, in.request())
}

// request is the input as the contract's request.
func (in TrainingInput) request() contract.WorkflowInput {
	return contract.WorkflowInput{ModelName: in.ModelName, DataDate: in.DataDate, DataDateOffset: in.DataDateOffset,
		ScheduledTime: in.ScheduledTime, ApprovalStatus: in.ApprovalStatus, Champion: in.Champion, PromotionMargin: in.PromotionMargin}
}

// Validate reports what is wrong with the request: every inference rule of contract.RequestRules, which the
// initialize-inference function checks again for the state machine.
func (in BatchInferenceInput) Validate() error {
	return contract.ValidateRequest(contract.InferenceRequest, in.request())
}

// request is the input as the contract's request.
func (in BatchInferenceInput) request() contract.WorkflowInput {
	return contract.WorkflowInput{ModelName: in.ModelName, DataDate: in.DataDate, DataDateOffset: in.DataDateOffset,
		ScheduledTime: in.ScheduledTime, Threshold: in.Threshold, PromotionMargin: in.PromotionMargin}
}

// invalidInput wraps a validation error as the non-retryable error a workflow fails with.
func invalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid request: "+strings.ReplaceAll(err.Error(), "\n", "; "), activities.ErrInvalidInput, nil)
}

// runKey identifies a workflow run for SageMaker tags and job-name derivation: workflow ID and run ID, with
// characters SageMaker tag values do not allow replaced. It is Initialize's IdempotencyKey (hashed into job
// names and output folders), the mdlc:run tag of jobs and models, and the RunKey metadata of registered versions.
//
// It is the current run ID on purpose, not the run ID before a reset (workflow.Info.OriginalRunID): a run that
// `starter retry` made by resetting a failed one is a new run, and when it does a job step again it must get a
// new job. The old job's name is spent when that job failed or was stopped (the usual reasons to redo the
// step), and its output is stale when the user replaced its input data; attaching to it would repeat the
// failure or keep the stale output. The job name comes from Initialize, so retry redoes a job step from
// Initialize (see StepWork.NamedJob): Initialize then derives new names from this run's key. A step kept from
// before the reset point is replayed from the history, and the key it was given then does not matter.
func runKey(workflowID, runID string) string {
	key := []rune(workflowID + "/" + runID)
	for i, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.:/=+-@", r)) {
			key[i] = '_'
		}
	}
	if len(key) > 256 {
		key = key[len(key)-256:]
	}
	return string(key)
}
