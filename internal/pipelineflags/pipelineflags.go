// Package pipelineflags defines the command-line flags of the pipeline settings (bucket, roles, image,
// instance types, hyperparameters, Lambda functions, threshold, approval), each with an environment default.
// The worker and the starter's parity commands share them, so the Temporal workflows and the emitted Step
// Functions state machines describe the same pipeline.
package pipelineflags

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// Local defaults: with target local, the bucket and role need no configuration.
const (
	LocalBucket = localdefaults.Bucket
	LocalRole   = "arn:aws:iam::000000000000:role/mdlc-local"
)

// Flags holds the parsed values until Config validates them.
type Flags struct {
	cfg                                    activities.Config
	transformCount                         *int
	hyperparameters, threshold, maxRuntime string
	retrainCooldown, approvalTimeout       string
	promotionMargin                        string
	maxRetrainsPerDay                      *int
}

// Env returns the environment variable name's value (read through getenv), or def when it is empty: the
// default of a flag.
func Env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// Add registers the pipeline flags on fs, with defaults from the environment (read through getenv).
func Add(fs *flag.FlagSet, getenv func(string) string) *Flags {
	f := &Flags{}
	p := &f.cfg
	fs.StringVar(&p.Bucket, "bucket", Env(getenv, "MDLC_BUCKET", ""), "S3 root bucket of the pipelines' data; "+LocalBucket+" for local [MDLC_BUCKET]")
	fs.StringVar(&p.RoleArn, "role-arn", Env(getenv, "MDLC_ROLE_ARN", ""), "SageMaker execution role ARN; a placeholder for local [MDLC_ROLE_ARN]")
	fs.StringVar(&p.TrainingImage, "training-image", Env(getenv, "MDLC_TRAINING_IMAGE", activities.DefaultTrainingImage), "training and inference image [MDLC_TRAINING_IMAGE]")
	fs.StringVar(&p.TrainingInstanceType, "training-instance-type", Env(getenv, "MDLC_TRAINING_INSTANCE_TYPE", activities.DefaultTrainingInstanceType), "training instance type [MDLC_TRAINING_INSTANCE_TYPE]")
	fs.StringVar(&p.TransformInstanceType, "transform-instance-type", Env(getenv, "MDLC_TRANSFORM_INSTANCE_TYPE", activities.DefaultTransformInstanceType), "batch transform instance type [MDLC_TRANSFORM_INSTANCE_TYPE]")
	f.transformCount = fs.Int("transform-instance-count", IntEnv(getenv, "MDLC_TRANSFORM_INSTANCE_COUNT", activities.DefaultTransformInstanceCount), "batch transform instance count [MDLC_TRANSFORM_INSTANCE_COUNT]")
	fs.StringVar(&f.hyperparameters, "hyperparameters", Env(getenv, "MDLC_HYPERPARAMETERS", ""), "comma-separated key=value pairs over the original workshop's XGBoost hyperparameters [MDLC_HYPERPARAMETERS]")
	fs.StringVar(&f.maxRuntime, "max-runtime", Env(getenv, "MDLC_MAX_RUNTIME", "1h"), "training job MaxRuntime [MDLC_MAX_RUNTIME]")
	fs.StringVar(&p.Functions.InitializeTraining, "function-initialize-training", Env(getenv, "MDLC_FUNCTION_INITIALIZE_TRAINING", contract.InitializeTrainingFunction), "initialize-training function name or ARN [MDLC_FUNCTION_INITIALIZE_TRAINING]")
	fs.StringVar(&p.Functions.InitializeInference, "function-initialize-inference", Env(getenv, "MDLC_FUNCTION_INITIALIZE_INFERENCE", contract.InitializeInferenceFunction), "initialize-inference function name or ARN [MDLC_FUNCTION_INITIALIZE_INFERENCE]")
	fs.StringVar(&p.Functions.MonitorPerformance, "function-monitor-performance", Env(getenv, "MDLC_FUNCTION_MONITOR_PERFORMANCE", contract.MonitorPerformanceFunction), "monitor-performance function name or ARN [MDLC_FUNCTION_MONITOR_PERFORMANCE]")
	fs.StringVar(&f.threshold, "threshold", Env(getenv, "MDLC_THRESHOLD", strconv.FormatFloat(activities.DefaultThreshold, 'f', -1, 64)), "default AUC threshold below which batch inference retrains [MDLC_THRESHOLD]")
	fs.StringVar(&p.ApprovalStatus, "approval-status", Env(getenv, "MDLC_APPROVAL_STATUS", contract.ApprovalApproved), "status of new model versions: Approved or PendingManualApproval [MDLC_APPROVAL_STATUS]")
	fs.StringVar(&f.approvalTimeout, "approval-timeout", Env(getenv, "MDLC_APPROVAL_TIMEOUT", activities.DefaultApprovalTimeout.String()), "how long a run that registered a version PendingManualApproval waits for starter approve or reject, or a decision in the registry; then the version stays Pending and the run completes with no decision [MDLC_APPROVAL_TIMEOUT]")
	fs.StringVar(&f.retrainCooldown, "retrain-cooldown", Env(getenv, "MDLC_RETRAIN_COOLDOWN", "0"), "suppress a retrain when a version of the model was registered less than this long ago, e.g. 24h; 0 turns it off [MDLC_RETRAIN_COOLDOWN]")
	fs.StringVar(&f.promotionMargin, "promotion-margin", Env(getenv, "MDLC_PROMOTION_MARGIN", "0"), "how much a retrained model's AUC must exceed the current model's on the same holdout data to be promoted, in [0, 1]; 0 promotes on equal AUCs [MDLC_PROMOTION_MARGIN]")
	f.maxRetrainsPerDay = fs.Int("max-retrains-per-day", IntEnv(getenv, "MDLC_MAX_RETRAINS_PER_DAY", 0), "suppress a retrain when this many versions of the model were registered in the last 24h; 0 means no cap [MDLC_MAX_RETRAINS_PER_DAY]")
	return f
}

// Config returns the pipeline settings for target (awsconf.TargetLocal or TargetAWS), with every problem
// found reported at once, each naming its flag.
func (f *Flags) Config(target string) (activities.Config, error) {
	p := f.cfg
	var errs []error
	if *f.transformCount < 1 {
		errs = append(errs, fmt.Errorf("--transform-instance-count %d must be at least 1", *f.transformCount))
	}
	p.TransformInstanceCount = int32(*f.transformCount)
	hp, err := parseHyperparameters(f.hyperparameters)
	if err != nil {
		errs = append(errs, err)
	}
	p.Hyperparameters = hp
	if p.DefaultThreshold, err = strconv.ParseFloat(f.threshold, 64); err != nil || !contract.ValidThreshold(p.DefaultThreshold) {
		errs = append(errs, fmt.Errorf("--threshold %q must be a number in [0, 1]", f.threshold))
	}
	if p.PromotionMargin, err = strconv.ParseFloat(f.promotionMargin, 64); err != nil || !contract.ValidPromotionMargin(p.PromotionMargin) {
		errs = append(errs, fmt.Errorf("--promotion-margin %s must be a number in [0, 1] (e.g. 0.01: the retrained model's AUC must beat the current one's by 0.01)", quote.Value(f.promotionMargin)))
	}
	if p.MaxRuntime, err = time.ParseDuration(f.maxRuntime); err != nil {
		errs = append(errs, fmt.Errorf("--max-runtime %q is not a duration (e.g. 1h, 90m)", f.maxRuntime))
	}
	if p.RetrainCooldown, err = time.ParseDuration(f.retrainCooldown); err != nil || p.RetrainCooldown < 0 {
		errs = append(errs, fmt.Errorf("--retrain-cooldown %s is not a duration of 0 or more (e.g. 24h, 90m; 0 turns it off)", quote.Value(f.retrainCooldown)))
	}
	if p.ApprovalTimeout, err = time.ParseDuration(f.approvalTimeout); err != nil || p.ApprovalTimeout < time.Second || p.ApprovalTimeout > activities.MaxApprovalTimeout {
		errs = append(errs, fmt.Errorf("--approval-timeout %s must be a duration from 1s to %s (e.g. 168h, 30m)", quote.Value(f.approvalTimeout), activities.MaxApprovalTimeout))
	}
	if p.MaxRetrainsPerDay = *f.maxRetrainsPerDay; p.MaxRetrainsPerDay < 0 {
		errs = append(errs, fmt.Errorf("--max-retrains-per-day %d must be 0 (no cap) or more", p.MaxRetrainsPerDay))
	}
	switch target {
	case awsconf.TargetLocal:
		if p.Bucket == "" {
			p.Bucket = LocalBucket
		}
		if p.RoleArn == "" {
			p.RoleArn = LocalRole
		}
	case awsconf.TargetAWS:
		if p.Bucket == "" {
			errs = append(errs, errors.New("--bucket (MDLC_BUCKET) is required with --target aws: the bucket that holds input-data/<date>/"))
		}
		if p.RoleArn == "" {
			errs = append(errs, errors.New("--role-arn (MDLC_ROLE_ARN) is required with --target aws: a SageMaker execution role that can read and write the bucket"))
		}
	default:
		errs = append(errs, fmt.Errorf("--target %q must be local or aws", target))
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	return p, nil
}

// IntEnv is Env for an integer flag; a value that is not an integer yields -1, which the flag's validation
// reports as out of range.
func IntEnv(getenv func(string) string, name string, def int) int {
	if v := getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return -1
	}
	return def
}

// parseHyperparameters returns the default hyperparameters with the overrides in s ("k=v,k=v") applied.
func parseHyperparameters(s string) (map[string]string, error) {
	hp := activities.DefaultHyperparameters()
	if strings.TrimSpace(s) == "" {
		return hp, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--hyperparameters: %q is not key=value (e.g. max_depth=5,num_round=100)", kv)
		}
		hp[k] = v
	}
	return hp, nil
}
