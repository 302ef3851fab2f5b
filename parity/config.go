package parity

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mdlc/mdlc/activities"
)

// Pipeline names one of the two state machines.
type Pipeline string

// The pipelines, as the emit and deploy commands name them.
const (
	TrainingPipeline       Pipeline = "training"
	BatchInferencePipeline Pipeline = "batch-inference"
)

// Pipelines returns both pipelines in deploy order: batch inference starts the training state machine, so
// training comes first.
func Pipelines() []Pipeline { return []Pipeline{TrainingPipeline, BatchInferencePipeline} }

// ParsePipeline returns the pipeline named s.
func ParsePipeline(s string) (Pipeline, error) {
	for _, p := range Pipelines() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown pipeline %q (want %q or %q)", s, TrainingPipeline, BatchInferencePipeline)
}

// Default state machine names.
const (
	DefaultTrainingStateMachine       = "mdlc-training"
	DefaultBatchInferenceStateMachine = "mdlc-batch-inference"
)

// Config is what the builders need: the worker's pipeline settings (the same activities.Config, so both
// engines send SageMaker the same requests) and where the state machines live.
type Config struct {
	// Activities are the pipeline settings: bucket, role, image, instance types, hyperparameters, function
	// names or ARNs, default threshold and approval status. Zero fields take activities' defaults, except
	// DefaultThreshold, which is used as given (0 is a valid threshold) as the worker uses it: fill it as the
	// worker does (its flag defaults to activities.DefaultThreshold).
	Activities activities.Config
	// Region and AccountID place the state machines and, for function names that are not ARNs, the Lambda
	// functions. Both required.
	Region    string
	AccountID string
	// Partition of the ARNs; derived from Region when empty (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b).
	Partition string
	// TrainingStateMachine and BatchInferenceStateMachine are the state machines' names.
	TrainingStateMachine       string
	BatchInferenceStateMachine string
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Activities = c.Activities.WithDefaults()
	if c.Partition == "" {
		c.Partition = partitionOf(c.Region)
	}
	if c.TrainingStateMachine == "" {
		c.TrainingStateMachine = DefaultTrainingStateMachine
	}
	if c.BatchInferenceStateMachine == "" {
		c.BatchInferenceStateMachine = DefaultBatchInferenceStateMachine
	}
	return c
}

// partitionOf returns the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return "aws"
}

var (
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountPattern      = regexp.MustCompile(`^\d{12}$`)
	partitionPattern    = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	stateMachinePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,80}$`)
	functionArnPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9_$-]+)?$`)
	functionNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

// Validate reports every problem with c (after WithDefaults) in one error.
func (c Config) Validate() error {
	var errs []error
	if err := c.Activities.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !regionPattern.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region %q is not an AWS region name (e.g. us-east-1)", c.Region))
	}
	if !accountPattern.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("account ID %q must be 12 digits", c.AccountID))
	}
	if !partitionPattern.MatchString(c.Partition) {
		errs = append(errs, fmt.Errorf("partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, ...)", c.Partition))
	}
	for _, n := range []string{c.TrainingStateMachine, c.BatchInferenceStateMachine} {
		if !stateMachinePattern.MatchString(n) {
			errs = append(errs, fmt.Errorf("state machine name %q must be 1-80 letters, digits, hyphens or underscores", n))
		}
	}
	if c.TrainingStateMachine == c.BatchInferenceStateMachine {
		errs = append(errs, fmt.Errorf("the two state machines cannot share the name %q", c.TrainingStateMachine))
	}
	// A NUL would be taken for a parameter placeholder (see ref); no real value holds one.
	values := []string{c.Activities.TrainingImage, c.Activities.TrainingInstanceType, c.Activities.TransformInstanceType}
	for k, v := range c.Activities.Hyperparameters {
		values = append(values, k, v)
	}
	for _, v := range values {
		if strings.ContainsRune(v, 0) {
			errs = append(errs, fmt.Errorf("setting %q contains a NUL character", v))
		}
	}
	f := c.Activities.Functions
	for _, fn := range []string{f.InitializeTraining, f.InitializeInference, f.MonitorPerformance} {
		if !functionArnPattern.MatchString(fn) && !functionNamePattern.MatchString(fn) {
			errs = append(errs, fmt.Errorf("lambda function %q is neither a function name nor a function ARN", fn))
		}
	}
	if d := c.Activities.RetrainCooldown; d%time.Second != 0 || d > maxRetrainCooldown {
		errs = append(errs, fmt.Errorf("retrain cooldown %s: the state machine takes whole seconds up to a year (--retrain-cooldown)", d))
	}
	if n := c.Activities.MaxRetrainsPerDay; n > maxRetrainCap {
		errs = append(errs, fmt.Errorf("max retrains per day %d: the state machine checks at most %d, one ListModelPackages page (--max-retrains-per-day)", n, maxRetrainCap))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid parity configuration: %w", err)
	}
	return nil
}

// StateMachineName returns the name of p's state machine.
func (c Config) StateMachineName(p Pipeline) string {
	if p == BatchInferencePipeline {
		return c.BatchInferenceStateMachine
	}
	return c.TrainingStateMachine
}

// StateMachineARN returns the ARN p's state machine has once deployed.
func (c Config) StateMachineARN(p Pipeline) string {
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", c.Partition, c.Region, c.AccountID, c.StateMachineName(p))
}

// FunctionARN returns the ARN of a Lambda function given by name or ARN.
func (c Config) FunctionARN(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", c.Partition, c.Region, c.AccountID, nameOrARN)
}

// serviceARN returns an optimized or SDK service integration resource, e.g. "sagemaker:createModel".
func (c Config) serviceARN(integration string) string {
	return fmt.Sprintf("arn:%s:states:::%s", c.Partition, integration)
}

// prepared returns c with defaults, validated.
// Limits of the retrain guard the state machine can check: the initialize-inference function computes a
// cooldown of at most a year; the cap is read from one ListModelPackages page.
const (
	maxRetrainCooldown = 366 * 24 * time.Hour
	maxRetrainCap      = 100
)

func (c Config) prepared() (Config, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
