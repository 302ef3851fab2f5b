package activities

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/internal/webui"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// Config is what the activities need to know about the target account; the worker fills it from flags and
// environment. Zero fields take the defaults of WithDefaults.
type Config struct {
	// Bucket is the S3 root bucket of the pipelines' data (S3RootBucket in the Lambda events).
	Bucket string
	// RoleArn is the SageMaker execution role for training and models.
	RoleArn string
	// TrainingImage is the training (and inference) container image.
	TrainingImage string
	// TrainingInstanceType, TrainingInstanceCount and TrainingVolumeGB size the training job.
	TrainingInstanceType  string
	TrainingInstanceCount int32
	TrainingVolumeGB      int32
	// MaxRuntime bounds the training job (StoppingCondition.MaxRuntimeInSeconds).
	MaxRuntime time.Duration
	// Hyperparameters of the training job, as SageMaker takes them (strings).
	Hyperparameters map[string]string
	// TransformInstanceType and TransformInstanceCount size the batch-transform job.
	TransformInstanceType  string
	TransformInstanceCount int32
	// Functions names the Lambda functions.
	Functions Functions
	// PollInterval is how often a waiting activity describes its job; PollJitter (0..1) spreads the polls of
	// many waiting activities (±PollJitter × PollInterval).
	PollInterval time.Duration
	PollJitter   float64
	// HeartbeatInterval is how often a waiting activity heartbeats, independent of PollInterval, so that a
	// cancellation reaches it promptly even when it polls every 30 s.
	HeartbeatInterval time.Duration
	// StopTimeout bounds how long a cancelled activity waits for its job to reach Stopped.
	StopTimeout time.Duration
	// DefaultThreshold is the AUC below which batch inference retrains when the request names none.
	DefaultThreshold float64
	// ApprovalStatus of new model packages: Approved or PendingManualApproval.
	ApprovalStatus string
	// RetrainCooldown suppresses a retrain when a version of the model was registered less than this long ago;
	// 0 turns the cooldown off.
	RetrainCooldown time.Duration
	// MaxRetrainsPerDay suppresses a retrain when this many versions of the model were registered in the last
	// 24 hours; 0 means no cap.
	MaxRetrainsPerDay int
	// SearchAttributes names the workflows' custom search attributes (workflows.SearchAttributes) that the
	// worker found registered, with the right type, on its namespace at start: runs set only these.
	SearchAttributes []string
	// NotifyURL is where Notify POSTs a run's Notification when it ends; empty sends none. It must be an http
	// or https URL.
	NotifyURL string
	// UIAddress is the base URL of the Temporal web UI, for the run links in notifications;
	// webui.DefaultAddress when empty.
	UIAddress string
	// FindModelPageSize is how many packages one ListModelPackages call of Find Model asks for, on both
	// engines: the API's maximum (100) when zero. Tests set less, so that a few versions span pages.
	FindModelPageSize int32
}

// Functions are the names (or ARNs) of the pipelines' Lambda functions; WithDefaults fills in the contract's
// names.
type Functions struct {
	InitializeTraining  string
	InitializeInference string
	MonitorPerformance  string
}

// The defaults are the original workshop's pipeline settings (see DefaultHyperparameters).
const (
	DefaultTrainingImage          = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"
	DefaultTrainingInstanceType   = "ml.m5.4xlarge"
	DefaultTransformInstanceType  = "ml.c4.2xlarge"
	DefaultTransformInstanceCount = 10
	// DefaultThreshold retrains when the model's AUC on the new data falls below 0.8. The original workshop
	// used 1.0, a placeholder that retrains on every run.
	DefaultThreshold = 0.8
)

// DefaultHyperparameters returns the original workshop's XGBoost hyperparameters.
func DefaultHyperparameters() map[string]string {
	return map[string]string{
		"objective":        "binary:logistic",
		"colsample_bytree": "0.7",
		"max_depth":        "4",
		"eta":              "0.2",
		"gamma":            "4",
		"min_child_weight": "6",
		"subsample":        "0.7",
		"learning_rate":    "0.075",
		"silent":           "0",
		"num_round":        "200",
		"seed":             "0",
	}
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.TrainingImage == "" {
		c.TrainingImage = DefaultTrainingImage
	}
	if c.TrainingInstanceType == "" {
		c.TrainingInstanceType = DefaultTrainingInstanceType
	}
	if c.TrainingInstanceCount == 0 {
		c.TrainingInstanceCount = 1
	}
	if c.TrainingVolumeGB == 0 {
		c.TrainingVolumeGB = 50
	}
	if c.MaxRuntime == 0 {
		c.MaxRuntime = time.Hour
	}
	if c.Hyperparameters == nil {
		c.Hyperparameters = DefaultHyperparameters()
	}
	if c.TransformInstanceType == "" {
		c.TransformInstanceType = DefaultTransformInstanceType
	}
	if c.TransformInstanceCount == 0 {
		c.TransformInstanceCount = DefaultTransformInstanceCount
	}
	if c.FindModelPageSize == 0 {
		c.FindModelPageSize = maxFindModelPage
	}
	if c.Functions.InitializeTraining == "" {
		c.Functions.InitializeTraining = contract.InitializeTrainingFunction
	}
	if c.Functions.InitializeInference == "" {
		c.Functions.InitializeInference = contract.InitializeInferenceFunction
	}
	if c.Functions.MonitorPerformance == "" {
		c.Functions.MonitorPerformance = contract.MonitorPerformanceFunction
	}
	if c.PollInterval == 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 5 * time.Second
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 10 * time.Minute
	}
	if c.ApprovalStatus == "" {
		c.ApprovalStatus = contract.ApprovalApproved
	}
	if c.UIAddress == "" {
		c.UIAddress = webui.DefaultAddress
	}
	return c
}

var (
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	rolePattern   = regexp.MustCompile(`^arn:aws[a-z0-9-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
)

// Validate reports every problem with c in one error, each saying how to fix it.
func (c Config) Validate() error {
	var errs []error
	if !bucketPattern.MatchString(c.Bucket) || strings.Contains(c.Bucket, "..") {
		errs = append(errs, fmt.Errorf("bucket %q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)", c.Bucket))
	}
	if !rolePattern.MatchString(c.RoleArn) {
		errs = append(errs, fmt.Errorf("role ARN %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", c.RoleArn))
	}
	if c.TrainingInstanceCount < 1 || c.TransformInstanceCount < 1 {
		errs = append(errs, errors.New("instance counts must be at least 1"))
	}
	if c.FindModelPageSize < 1 || c.FindModelPageSize > maxFindModelPage {
		errs = append(errs, fmt.Errorf("the Find Model page size %d must be between 1 and %d", c.FindModelPageSize, maxFindModelPage))
	}
	if c.TrainingVolumeGB < 1 {
		errs = append(errs, errors.New("training volume size must be at least 1 GB"))
	}
	if c.MaxRuntime < time.Second || c.MaxRuntime > 28*24*time.Hour {
		errs = append(errs, fmt.Errorf("max runtime %s is outside SageMaker's 1s..28d", c.MaxRuntime))
	}
	if c.PollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("poll interval %s is too short (at least 10ms)", c.PollInterval))
	}
	if c.PollJitter < 0 || c.PollJitter >= 1 {
		errs = append(errs, fmt.Errorf("poll jitter %v must be in [0, 1)", c.PollJitter))
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, errors.New("heartbeat interval must be positive"))
	}
	if !contract.ValidThreshold(c.DefaultThreshold) {
		errs = append(errs, fmt.Errorf("default threshold %v must be a number in [0, 1]", c.DefaultThreshold))
	}
	if c.ApprovalStatus != contract.ApprovalApproved && c.ApprovalStatus != contract.ApprovalPending {
		errs = append(errs, fmt.Errorf("approval status %q must be Approved or PendingManualApproval", c.ApprovalStatus))
	}
	if c.NotifyURL != "" {
		if err := webui.CheckHTTPURL(c.NotifyURL); err != nil {
			errs = append(errs, fmt.Errorf("notify URL %s is not an http(s) URL (%w): give one such as https://hooks.example.com/mdlc, or none to send no notifications", quote.Value(c.NotifyURL), err))
		}
	}
	if err := webui.CheckHTTPURL(c.UIAddress); err != nil {
		errs = append(errs, fmt.Errorf("web UI address %s is not an http(s) URL (%w): give one such as %s", quote.Value(c.UIAddress), err, webui.DefaultAddress))
	}
	if c.RetrainCooldown < 0 {
		errs = append(errs, fmt.Errorf("retrain cooldown %s must not be negative (0 turns it off)", c.RetrainCooldown))
	}
	if c.MaxRetrainsPerDay < 0 {
		errs = append(errs, fmt.Errorf("max retrains per day %d must not be negative (0 means no cap)", c.MaxRetrainsPerDay))
	}
	if _, ok := c.Hyperparameters["num_round"]; !ok {
		errs = append(errs, errors.New("hyperparameters must include num_round"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid activities configuration: %w", err)
	}
	return nil
}
