package activities

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// RunTag is the tag key that marks a SageMaker job with the workflow run that created it. A job whose name is
// taken is attached to only when this tag names the same run.
const RunTag = "mdlc:run"

// maxDescribeFailures is how many Describe calls in a row may fail (throttling, network) before the activity
// gives up this attempt and leaves the next attempt to its retry policy.
const maxDescribeFailures = 10

// JobProgress is the heartbeat detail of a waiting activity: what the starter and the web UI show while a job
// runs (Temporal keeps the latest heartbeat of each pending activity).
type JobProgress struct {
	JobName         string
	JobArn          string
	Status          string
	SecondaryStatus string `json:",omitempty"`
	Attached        bool   `json:",omitempty"`
}

// jobState is a job as Describe sees it.
type jobState struct {
	arn, status, secondary, failureReason string
}

// job is what waiting needs to know of one kind of SageMaker job.
type job struct {
	kind     string // "training job", "transform job": used in messages
	name     string
	create   func(ctx context.Context) error
	describe func(ctx context.Context) (jobState, error)
	stop     func(ctx context.Context) error
}

// run creates the job, or attaches to it if this run created it on an earlier attempt, and waits until it ends.
// A job that ends Failed or Stopped fails the activity (non-retryable: the job name is spent). When the
// workflow cancels the activity, run stops the job and waits for Stopped, as Step Functions does when it aborts
// a .sync task; a worker shutdown or a timed-out attempt leaves the job running for the next attempt.
func (a *Activities) run(ctx context.Context, j job, runKey string) (jobState, error) {
	logger := activity.GetLogger(ctx)
	progress := JobProgress{JobName: j.name}
	if err := j.create(ctx); err != nil {
		if !isAWSCode(err, "ResourceInUse") {
			return jobState{}, awsError(fmt.Sprintf("create %s %q", j.kind, j.name), err)
		}
		st, err := j.describe(ctx)
		if err != nil {
			return jobState{}, awsError(fmt.Sprintf("describe %s %q", j.kind, j.name), err)
		}
		owner, err := a.runTag(ctx, st.arn)
		if err != nil {
			return jobState{}, err
		}
		if owner != runKey {
			return jobState{}, nonRetryable(ErrJobNameConflict,
				"%s %q already exists and was not created by this run (tag %s=%q, want %q): SageMaker job names are unique forever; start a new run",
				j.kind, j.name, RunTag, owner, runKey)
		}
		logger.Info("Attached to existing job", "Kind", j.kind, "JobName", j.name, "Status", st.status)
		progress.Attached = true
	} else {
		logger.Info("Created job", "Kind", j.kind, "JobName", j.name)
	}

	heartbeat := time.NewTicker(a.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	failures, polls := 0, 0
	for {
		select {
		case <-ctx.Done():
			if !temporal.IsCanceledError(context.Cause(ctx)) {
				// Worker shutdown or timeout: leave the job running; the next attempt attaches to it.
				return jobState{}, context.Cause(ctx)
			}
			return jobState{}, a.stopAndWait(ctx, j)
		case <-heartbeat.C:
			activity.RecordHeartbeat(ctx, progress)
		case <-poll.C:
			polls++
			st, err := j.describe(ctx)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				if isAWSCode(err, "ValidationException", "ResourceNotFound") {
					return jobState{}, awsError(fmt.Sprintf("describe %s %q", j.kind, j.name), err)
				}
				if failures++; failures >= maxDescribeFailures {
					return jobState{}, fmt.Errorf("describe %s %q failed %d times in a row: %w", j.kind, j.name, failures, err)
				}
				logger.Warn("Describe failed; polling on", "JobName", j.name, "Error", err)
				poll.Reset(a.cfg.poll(polls-1, rand.Float64))
				continue
			}
			failures = 0
			if st.status != progress.Status || st.secondary != progress.SecondaryStatus {
				progress.JobArn, progress.Status, progress.SecondaryStatus = st.arn, st.status, st.secondary
				activity.RecordHeartbeat(ctx, progress)
			}
			switch st.status {
			case "Completed":
				return st, nil
			case "Failed":
				return st, nonRetryable(ErrJobFailed, "%s %q failed: %s", j.kind, j.name, st.failureReason)
			case "Stopped":
				why := "stopped outside this workflow"
				if st.secondary != "" && st.secondary != "Stopped" {
					why = st.secondary // e.g. MaxRuntimeExceeded
				}
				if st.failureReason != "" {
					why += ": " + st.failureReason
				}
				return st, nonRetryable(ErrJobStopped, "%s %q ended Stopped (%s)", j.kind, j.name, why)
			}
			poll.Reset(a.cfg.poll(polls-1, rand.Float64))
		}
	}
}

// stopAndWait stops a job after the activity was cancelled and waits (at most StopTimeout) for it to end.
// It runs on a fresh context: the activity's is already cancelled.
func (a *Activities) stopAndWait(actx context.Context, j job) error {
	logger := activity.GetLogger(actx)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(actx), a.cfg.StopTimeout)
	defer cancel()
	logger.Info("Activity cancelled; stopping job", "Kind", j.kind, "JobName", j.name)
	if err := j.stop(ctx); err != nil && !isAWSCode(err, "ValidationException") {
		// ValidationException: the job already ended; describe below says how.
		return fmt.Errorf("stop %s %q after cancellation: %w", j.kind, j.name, err)
	}
	for {
		st, err := j.describe(ctx)
		if err == nil {
			switch st.status {
			case "Stopped", "Completed", "Failed":
				logger.Info("Job ended after cancellation", "JobName", j.name, "Status", st.status)
				return temporal.NewCanceledError(fmt.Sprintf("%s %q ended %s", j.kind, j.name, st.status))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %q did not stop within %s: %w", j.kind, j.name, a.cfg.StopTimeout, ctx.Err())
		case <-time.After(a.cfg.poll(0, rand.Float64)):
		}
	}
}

// runTag returns the value of the RunTag tag of the resource arn ("" when absent).
func (a *Activities) runTag(ctx context.Context, arn string) (string, error) {
	in := &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)}
	for {
		out, err := a.sm.ListTags(ctx, in)
		if err != nil {
			return "", awsError(fmt.Sprintf("list tags of %q", arn), err)
		}
		for _, t := range out.Tags {
			if aws.ToString(t.Key) == RunTag {
				return aws.ToString(t.Value), nil
			}
		}
		if out.NextToken == nil {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
}

// TrainModelInput is a training job to run: the plan of the Initialize step and the run that owns it.
type TrainModelInput struct {
	Plan TrainingPlan
	// RunKey identifies the workflow run (tagged on the job; see RunTag).
	RunKey string
}

// TrainModelOutput is the finished training job.
type TrainModelOutput struct {
	TrainingJobName string
	TrainingJobArn  string
	// ModelArtifacts is the S3 URI of model.tar.gz.
	ModelArtifacts string
	// FinalMetrics are the job's final metrics by name (e.g. "validation:logloss").
	FinalMetrics map[string]float64
	// TrainingTimeSeconds is how long SageMaker reports the job trained.
	TrainingTimeSeconds int32
}

// TrainModel runs the SageMaker training job of in.Plan and waits for it to complete.
func (a *Activities) TrainModel(ctx context.Context, in TrainModelInput) (TrainModelOutput, error) {
	req := TrainingJobRequest(a.cfg, in.Plan, in.RunKey)
	name := aws.ToString(req.TrainingJobName)
	var last *sagemaker.DescribeTrainingJobOutput
	st, err := a.run(ctx, job{
		kind: "training job",
		name: name,
		create: func(ctx context.Context) error {
			_, err := a.sm.CreateTrainingJob(ctx, req)
			return err
		},
		describe: func(ctx context.Context) (jobState, error) {
			out, err := a.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
			if err != nil {
				return jobState{}, err
			}
			last = out
			return jobState{
				arn: aws.ToString(out.TrainingJobArn), status: string(out.TrainingJobStatus),
				secondary: string(out.SecondaryStatus), failureReason: aws.ToString(out.FailureReason),
			}, nil
		},
		stop: func(ctx context.Context) error {
			_, err := a.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String(name)})
			return err
		},
	}, in.RunKey)
	if err != nil {
		return TrainModelOutput{}, err
	}
	if last.ModelArtifacts == nil || aws.ToString(last.ModelArtifacts.S3ModelArtifacts) == "" {
		return TrainModelOutput{}, nonRetryable(ErrJobFailed, "training job %q completed without model artifacts", name)
	}
	metrics := make(map[string]float64, len(last.FinalMetricDataList))
	for _, m := range last.FinalMetricDataList {
		metrics[aws.ToString(m.MetricName)] = float64(aws.ToFloat32(m.Value))
	}
	return TrainModelOutput{
		TrainingJobName:     name,
		TrainingJobArn:      st.arn,
		ModelArtifacts:      aws.ToString(last.ModelArtifacts.S3ModelArtifacts),
		FinalMetrics:        metrics,
		TrainingTimeSeconds: aws.ToInt32(last.TrainingTimeInSeconds),
	}, nil
}

// TransformInput is a batch-transform job to run.
type TransformInput struct {
	Plan InferencePlan
	// ModelName is the SageMaker model that scores the data.
	ModelName string
	// RunKey identifies the workflow run (tagged on the job; see RunTag).
	RunKey string
}

// TransformOutput is the finished batch-transform job.
type TransformOutput struct {
	TransformJobName string
	TransformJobArn  string
	// OutputS3Uri is where the job wrote its .out files.
	OutputS3Uri string
}

// BatchTransform runs the SageMaker batch-transform job of in.Plan and waits for it to complete.
func (a *Activities) BatchTransform(ctx context.Context, in TransformInput) (TransformOutput, error) {
	req := TransformJobRequest(a.cfg, in.Plan, in.ModelName, in.RunKey)
	name := aws.ToString(req.TransformJobName)
	st, err := a.run(ctx, job{
		kind: "transform job",
		name: name,
		create: func(ctx context.Context) error {
			_, err := a.sm.CreateTransformJob(ctx, req)
			return err
		},
		describe: func(ctx context.Context) (jobState, error) {
			out, err := a.sm.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(name)})
			if err != nil {
				return jobState{}, err
			}
			return jobState{
				arn: aws.ToString(out.TransformJobArn), status: string(out.TransformJobStatus),
				failureReason: aws.ToString(out.FailureReason),
			}, nil
		},
		stop: func(ctx context.Context) error {
			_, err := a.sm.StopTransformJob(ctx, &sagemaker.StopTransformJobInput{TransformJobName: aws.String(name)})
			return err
		},
	}, in.RunKey)
	if err != nil {
		return TransformOutput{}, err
	}
	return TransformOutput{TransformJobName: name, TransformJobArn: st.arn, OutputS3Uri: in.Plan.InferenceOutput.S3Uri}, nil
}
