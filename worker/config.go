package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/awsconf"
	"github.com/mdlc/mdlc/internal/temporalconn"
	"github.com/mdlc/mdlc/workflows"
)

// config is everything the worker is told by flags and environment.
type config struct {
	temporalAddress, namespace, taskQueue string
	target, region, endpoint              string
	metricsAddr, logFormat, logLevel      string
	maxConcurrentActivities               int
	shutdownTimeout                       time.Duration
	pipeline                              activities.Config
}

// Local defaults: a worker started with no flags runs against localaws and the dev server.
const (
	localBucket = "mdlc-local"
	localRole   = "arn:aws:iam::000000000000:role/mdlc-local"
)

// env returns the environment variable name's value, or def.
func env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// parseConfig reads flags (args) over environment (getenv) over defaults and validates the result.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: worker [flags]\n\nRuns the mdlc Temporal worker: the Training and BatchInference workflows and their activities.\n"+
			"By default it calls localaws (%s) and the Temporal dev server (%s).\n\nFlags (each also read from the environment variable in brackets):\n",
			awsconf.DefaultLocalEndpoint, temporalconn.DefaultAddress)
		fs.PrintDefaults()
	}
	var (
		hyper, threshold, pollInterval, maxRuntime string
	)
	p := &c.pipeline
	fs.StringVar(&c.temporalAddress, "temporal-address", env(getenv, "TEMPORAL_ADDRESS", temporalconn.DefaultAddress), "Temporal frontend host:port [TEMPORAL_ADDRESS]")
	fs.StringVar(&c.namespace, "namespace", env(getenv, "TEMPORAL_NAMESPACE", "default"), "Temporal namespace [TEMPORAL_NAMESPACE]")
	fs.StringVar(&c.taskQueue, "task-queue", env(getenv, "MDLC_TASK_QUEUE", workflows.TaskQueue), "task queue [MDLC_TASK_QUEUE]")
	fs.StringVar(&c.target, "target", env(getenv, "MDLC_TARGET", awsconf.TargetLocal), "local (localaws) or aws [MDLC_TARGET]")
	fs.StringVar(&c.region, "region", env(getenv, "AWS_REGION", ""), "AWS region; us-east-1 for local [AWS_REGION]")
	fs.StringVar(&c.endpoint, "endpoint-url", env(getenv, "AWS_ENDPOINT_URL", ""), "endpoint of every AWS service; "+awsconf.DefaultLocalEndpoint+" for local [AWS_ENDPOINT_URL]")
	fs.StringVar(&p.Bucket, "bucket", env(getenv, "MDLC_BUCKET", ""), "S3 root bucket of the pipelines' data; "+localBucket+" for local [MDLC_BUCKET]")
	fs.StringVar(&p.RoleArn, "role-arn", env(getenv, "MDLC_ROLE_ARN", ""), "SageMaker execution role ARN; a placeholder for local [MDLC_ROLE_ARN]")
	fs.StringVar(&p.TrainingImage, "training-image", env(getenv, "MDLC_TRAINING_IMAGE", activities.DefaultTrainingImage), "training and inference image [MDLC_TRAINING_IMAGE]")
	fs.StringVar(&p.TrainingInstanceType, "training-instance-type", env(getenv, "MDLC_TRAINING_INSTANCE_TYPE", activities.DefaultTrainingInstanceType), "training instance type [MDLC_TRAINING_INSTANCE_TYPE]")
	fs.StringVar(&p.TransformInstanceType, "transform-instance-type", env(getenv, "MDLC_TRANSFORM_INSTANCE_TYPE", activities.DefaultTransformInstanceType), "batch transform instance type [MDLC_TRANSFORM_INSTANCE_TYPE]")
	transformCount := fs.Int("transform-instance-count", intEnv(getenv, "MDLC_TRANSFORM_INSTANCE_COUNT", activities.DefaultTransformInstanceCount), "batch transform instance count [MDLC_TRANSFORM_INSTANCE_COUNT]")
	fs.StringVar(&hyper, "hyperparameters", env(getenv, "MDLC_HYPERPARAMETERS", ""), "comma-separated key=value pairs over the original workshop's XGBoost hyperparameters [MDLC_HYPERPARAMETERS]")
	fs.StringVar(&maxRuntime, "max-runtime", env(getenv, "MDLC_MAX_RUNTIME", "1h"), "training job MaxRuntime [MDLC_MAX_RUNTIME]")
	fs.StringVar(&p.Functions.InitializeTraining, "function-initialize-training", env(getenv, "MDLC_FUNCTION_INITIALIZE_TRAINING", "initialize-training"), "initialize-training function name or ARN [MDLC_FUNCTION_INITIALIZE_TRAINING]")
	fs.StringVar(&p.Functions.InitializeInference, "function-initialize-inference", env(getenv, "MDLC_FUNCTION_INITIALIZE_INFERENCE", "initialize-inference"), "initialize-inference function name or ARN [MDLC_FUNCTION_INITIALIZE_INFERENCE]")
	fs.StringVar(&p.Functions.MonitorPerformance, "function-monitor-performance", env(getenv, "MDLC_FUNCTION_MONITOR_PERFORMANCE", "monitor-performance"), "monitor-performance function name or ARN [MDLC_FUNCTION_MONITOR_PERFORMANCE]")
	fs.StringVar(&threshold, "threshold", env(getenv, "MDLC_THRESHOLD", strconv.FormatFloat(activities.DefaultThreshold, 'f', -1, 64)), "default AUC threshold below which batch inference retrains [MDLC_THRESHOLD]")
	fs.StringVar(&p.ApprovalStatus, "approval-status", env(getenv, "MDLC_APPROVAL_STATUS", "Approved"), "status of new model versions: Approved or PendingManualApproval [MDLC_APPROVAL_STATUS]")
	fs.StringVar(&pollInterval, "poll-interval", env(getenv, "MDLC_POLL_INTERVAL", ""), "how often to describe a running SageMaker job; 1s for local, 30s for aws [MDLC_POLL_INTERVAL]")
	fs.Float64Var(&p.PollJitter, "poll-jitter", 0.2, "fraction of the poll interval by which polls are spread")
	fs.IntVar(&c.maxConcurrentActivities, "max-concurrent-activities", intEnv(getenv, "MDLC_MAX_CONCURRENT_ACTIVITIES", 200), "activities this worker runs at once; waiting on a job is one [MDLC_MAX_CONCURRENT_ACTIVITIES]")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env(getenv, "MDLC_METRICS_ADDR", "127.0.0.1:9464"), "address of the Prometheus /metrics endpoint; empty disables it [MDLC_METRICS_ADDR]")
	fs.StringVar(&c.logFormat, "log-format", env(getenv, "MDLC_LOG_FORMAT", "text"), "text or json [MDLC_LOG_FORMAT]")
	fs.StringVar(&c.logLevel, "log-level", env(getenv, "MDLC_LOG_LEVEL", "info"), "debug, info, warn or error [MDLC_LOG_LEVEL]")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long running activities get to finish on shutdown")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q: the worker takes only flags (see -help)", fs.Args())
	}

	var errs []error
	if *transformCount < 1 {
		errs = append(errs, fmt.Errorf("--transform-instance-count %d must be at least 1", *transformCount))
	}
	p.TransformInstanceCount = int32(*transformCount)
	hp, err := parseHyperparameters(hyper)
	if err != nil {
		errs = append(errs, err)
	}
	p.Hyperparameters = hp
	if p.DefaultThreshold, err = strconv.ParseFloat(threshold, 64); err != nil || !activities.ValidThreshold(p.DefaultThreshold) {
		errs = append(errs, fmt.Errorf("--threshold %q must be a number in [0, 1]", threshold))
	}
	if p.MaxRuntime, err = time.ParseDuration(maxRuntime); err != nil {
		errs = append(errs, fmt.Errorf("--max-runtime %q is not a duration (e.g. 1h, 90m)", maxRuntime))
	}
	switch c.target {
	case awsconf.TargetLocal:
		p.PollInterval = time.Second
		if p.Bucket == "" {
			p.Bucket = localBucket
		}
		if p.RoleArn == "" {
			p.RoleArn = localRole
		}
	case awsconf.TargetAWS:
		p.PollInterval = 30 * time.Second
		if p.Bucket == "" {
			errs = append(errs, errors.New("--bucket (MDLC_BUCKET) is required with --target aws: the bucket holding input-data/<date>/..."))
		}
		if p.RoleArn == "" {
			errs = append(errs, errors.New("--role-arn (MDLC_ROLE_ARN) is required with --target aws: a SageMaker execution role that can read and write the bucket"))
		}
	default:
		errs = append(errs, fmt.Errorf("--target %q must be local or aws", c.target))
	}
	if pollInterval != "" {
		if p.PollInterval, err = time.ParseDuration(pollInterval); err != nil {
			errs = append(errs, fmt.Errorf("--poll-interval %q is not a duration (e.g. 1s, 30s)", pollInterval))
		}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.logFormat))
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		errs = append(errs, err)
	}
	if c.maxConcurrentActivities < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrent-activities %d must be at least 1", c.maxConcurrentActivities))
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	c.pipeline = p.WithDefaults()
	if err := c.pipeline.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func intEnv(getenv func(string) string, name string, def int) int {
	if v := getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		return -1 // reported by validation as out of range
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

