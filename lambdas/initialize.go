package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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
}

// WorkflowInput is what a user passes to start a pipeline.
type WorkflowInput struct {
	// ModelName names the model; it becomes the model package group and prefixes job names, so it must be a
	// valid SageMaker name (letters, digits, hyphens, at most 63 characters).
	ModelName string `json:"ModelName"`
	// DataDate selects the data set, YYYY-MM-DD: s3://<bucket>/input-data/<DataDate>/.
	DataDate string `json:"DataDate"`
	// ApprovalStatus (training only, optional) is the status the new model version is registered with:
	// Approved or PendingManualApproval; empty means the default. The state machines pass it, with their
	// default filled in, so that the function checks it as the workflow does.
	ApprovalStatus string `json:"ApprovalStatus,omitempty"`
	// Threshold (batch inference only, optional) is the AUC below which the run retrains, in [0, 1]; absent
	// or null means the default. The state machines pass it, with their default filled in, to be checked.
	Threshold *float64 `json:"Threshold,omitempty"`
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
}

// TrainingConfig names a training job and its data.
type TrainingConfig struct {
	// TrainingJobName is unique per run and stable across retries (see the package documentation).
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
}

// InferenceConfig names a batch-transform job and its data.
type InferenceConfig struct {
	// InferenceJobName is unique per run and stable across retries (see the package documentation).
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

// run is a validated initialize event.
type run struct {
	in     InitializeEvent
	at     time.Time
	runID  string
	job    string
	bucket string
	date   string
}

func (h *Handlers) newRun(kind RequestKind, in InitializeEvent) (run, error) {
	var problems []string
	for _, r := range RequestRules() {
		if !r.AppliesTo(kind) {
			continue
		}
		if err := r.check(in.WorkflowInput); err != nil {
			problems = append(problems, "WorkflowInput."+r.Field+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return run{}, invalidInput("invalid event: %s", strings.Join(problems, "; "))
	}
	if err := validBucket("S3RootBucket", in.S3RootBucket); err != nil {
		return run{}, err
	}
	at, err := h.runTime(in.RunTime)
	if err != nil {
		return run{}, err
	}
	id, err := h.runID(kind, in, at)
	if err != nil {
		return run{}, err
	}
	return run{in: in, at: at, runID: id, job: jobName(in.WorkflowInput.ModelName, id),
		bucket: in.S3RootBucket, date: in.WorkflowInput.DataDate}, nil
}

func (r run) location(key string) S3Location {
	return S3Location{S3Key: key, S3Uri: s3URI(r.bucket, key)}
}

// InitializeTraining validates the request, checks that the train and validation data exist, names the
// training job and writes the request to s3://<bucket>/workflow-requests/<job name>/workflow_request.json.
func (h *Handlers) InitializeTraining(ctx context.Context, in InitializeEvent) (InitializeTrainingOutput, error) {
	r, err := h.newRun(TrainingRequest, in)
	if err != nil {
		return InitializeTrainingOutput{}, err
	}
	cfg := TrainingConfig{
		TrainingJobName: r.job,
		TrainingInput:   r.location("input-data/" + r.date + "/train"),
		ValidationInput: r.location("input-data/" + r.date + "/validation"),
		TrainingOutput:  r.location("model/" + r.date + "/" + r.runID),
	}
	for _, loc := range []S3Location{cfg.TrainingInput, cfg.ValidationInput} {
		if err := h.requirePrefix(ctx, r.bucket, loc); err != nil {
			return InitializeTrainingOutput{}, err
		}
	}
	if err := h.putRequest(ctx, r); err != nil {
		return InitializeTrainingOutput{}, err
	}
	return InitializeTrainingOutput{
		WorkflowRequest: in.WorkflowInput,
		S3RootBucket:    r.bucket,
		DataDate:        r.date,
		RunDate:         r.at.Format(time.RFC3339),
		TrainingConfig:  cfg,
	}, nil
}

// InitializeInference validates the request, checks that the holdout data and target exist, names the
// batch-transform job and writes the request to s3://<bucket>/workflow-requests/<job name>/workflow_request.json.
func (h *Handlers) InitializeInference(ctx context.Context, in InitializeEvent) (InitializeInferenceOutput, error) {
	r, err := h.newRun(InferenceRequest, in)
	if err != nil {
		return InitializeInferenceOutput{}, err
	}
	cfg := InferenceConfig{
		InferenceJobName: r.job,
		InferenceInput:   r.location("input-data/" + r.date + "/holdout_data"),
		InferenceOutput:  r.location("output-data/" + r.date + "/" + r.runID),
	}
	target := r.location("input-data/" + r.date + "/holdout_target/holdout_target.csv")
	if err := h.requirePrefix(ctx, r.bucket, cfg.InferenceInput); err != nil {
		return InitializeInferenceOutput{}, err
	}
	if _, err := h.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(target.S3Key)}); err != nil {
		return InitializeInferenceOutput{}, s3Error("find target", target.S3Uri, err)
	}
	if err := h.putRequest(ctx, r); err != nil {
		return InitializeInferenceOutput{}, err
	}
	return InitializeInferenceOutput{
		WorkflowRequest: in.WorkflowInput,
		S3RootBucket:    r.bucket,
		DataDate:        r.date,
		RunDate:         r.at.Format(time.RFC3339),
		InferenceConfig: cfg,
		MonitorConfig: MonitorConfig{MonitorInput: MonitorInput{
			TargetS3Uri:     target.S3Uri,
			PredictionS3Uri: cfg.InferenceOutput.S3Uri + "/holdout_data.csv.out",
		}},
	}, nil
}

// requirePrefix fails with DataNotFound unless at least one object's key starts with loc.S3Key — the same
// prefix match SageMaker applies to an S3Prefix data source.
func (h *Handlers) requirePrefix(ctx context.Context, bucket string, loc S3Location) error {
	out, err := h.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(loc.S3Key), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return s3Error("list", loc.S3Uri, err)
	}
	if len(out.Contents) == 0 {
		return &Error{Type: ErrorDataNotFound, Message: fmt.Sprintf("no objects under %s", loc.S3Uri)}
	}
	return nil
}

// putRequest records the request under a key of its own, so runs never overwrite each other's record and a
// retry rewrites the same content.
func (h *Handlers) putRequest(ctx context.Context, r run) error {
	body, err := json.Marshal(r.in.WorkflowInput)
	if err != nil {
		return &Error{Type: ErrorInternal, Message: fmt.Sprintf("encode workflow request: %v", err), Err: err}
	}
	key := "workflow-requests/" + r.job + "/workflow_request.json"
	_, err = h.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(key),
		Body: bytes.NewReader(append(body, '\n')), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return s3Error("write workflow request", s3URI(r.bucket, key), err)
	}
	return nil
}
