package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/internal/strictjson"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// run is a validated initialize event.
type run struct {
	in     contract.InitializeEvent
	at     time.Time
	runID  string
	job    string
	bucket string
	date   string
}

func (h *Handlers) newRun(kind contract.RequestKind, in contract.InitializeEvent) (run, error) {
	if kind == contract.TrainingRequest && in.WorkflowInput.Champion == nil && len(in.Request) > 0 {
		// A state machine cannot write a null for an absent Champion (it has no default), so it passes the
		// champion in Request only; checkRequest reports a Request that does not decode.
		var req contract.WorkflowInput
		if json.Unmarshal(in.Request, &req) == nil {
			in.WorkflowInput.Champion = req.Champion
		}
	}
	var problems []string
	for _, r := range contract.RequestRules() {
		if !r.AppliesTo(kind) {
			continue
		}
		if err := r.Check(in.WorkflowInput); err != nil {
			problems = append(problems, "WorkflowInput."+r.Field+": "+err.Error())
		}
	}
	if len(in.Request) > 0 {
		if err := checkRequest(kind, in.Request); err != nil {
			problems = append(problems, "Request: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return run{}, invalidInput("invalid event: %s", strings.Join(problems, "; "))
	}
	// A scheduled request's date comes from its ScheduledTime, which the state machine's EventBridge
	// schedule filled in, by the rule the workflows apply to the Temporal scheduler's nominal time.
	date, err := contract.ResolveDataDate(in.WorkflowInput, nil)
	if err != nil {
		return run{}, invalidInput("invalid event: WorkflowInput: %v", err)
	}
	if err := validBucket("S3RootBucket", in.S3RootBucket); err != nil {
		return run{}, err
	}
	at, err := h.runTime(in.RunTime)
	if err != nil {
		return run{}, err
	}
	named := in // a scheduled request's names hash the date it derived
	named.WorkflowInput.DataDate = date
	id, err := h.runID(kind, named, at)
	if err != nil {
		return run{}, err
	}
	return run{in: in, at: at, runID: id, job: jobName(in.WorkflowInput.ModelName, id),
		bucket: in.S3RootBucket, date: date}, nil
}

// checkRequest checks the pipeline's input as the user gave it, as the workflows decode theirs: a JSON
// object whose keys are exactly the request fields of kind, each value of its field's type. The rules on
// the values are checked on WorkflowInput, which the state machines fill in from the same input.
func checkRequest(kind contract.RequestKind, raw json.RawMessage) error {
	var in contract.WorkflowInput
	err := strictjson.Decode(raw, &in, contract.StartedByExecutionField)
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) != nil {
		return err // not an object: strictjson said so
	}
	fields := contract.RequestFields(kind)
	var errs []error
	for key := range keys {
		// strictjson has named the keys that are no field of either pipeline; this names the other's.
		if !slices.Contains(fields, key) && slices.Contains(contract.RequestFields(otherKind(kind)), key) {
			errs = append(errs, fmt.Errorf("unknown field %s: the %s pipeline's fields are %s", quote.Value(key), kind, strings.Join(fields, ", ")))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(append([]error{err}, errs...)...)
}

// otherKind is the request kind that is not k.
func otherKind(k contract.RequestKind) contract.RequestKind {
	if k == contract.TrainingRequest {
		return contract.InferenceRequest
	}
	return contract.TrainingRequest
}

func (r run) location(key string) contract.S3Location {
	return contract.S3Location{S3Key: key, S3Uri: s3URI(r.bucket, key)}
}

// InitializeTraining validates the request, checks that the train and validation data exist, names the
// training job and writes the request to s3://<bucket>/workflow-requests/<job name>/workflow_request.json.
func (h *Handlers) InitializeTraining(ctx context.Context, in contract.InitializeEvent) (contract.InitializeTrainingOutput, error) {
	r, err := h.newRun(contract.TrainingRequest, in)
	if err != nil {
		return contract.InitializeTrainingOutput{}, err
	}
	cfg := contract.TrainingConfig{
		TrainingJobName: r.job,
		TrainingInput:   r.location("input-data/" + r.date + "/train"),
		ValidationInput: r.location("input-data/" + r.date + "/validation"),
		TrainingOutput:  r.location("model/" + r.date + "/" + r.runID),
	}
	for _, loc := range []contract.S3Location{cfg.TrainingInput, cfg.ValidationInput} {
		if err := h.requirePrefix(ctx, r.bucket, loc); err != nil {
			return contract.InitializeTrainingOutput{}, err
		}
	}
	eval := contract.EvaluationConfig{
		InferenceConfig: contract.InferenceConfig{
			InferenceJobName: r.job,
			InferenceInput:   r.location(holdoutDataKey(r.date)),
			InferenceOutput:  r.location("output-data/" + r.date + "/" + r.runID),
		},
		EvaluationOutput: r.location("evaluation/" + r.date + "/" + r.runID + "/evaluation.json"),
	}
	target := r.location(holdoutTargetKey(r.date))
	eval.MonitorConfig = monitorConfig(target, eval.InferenceConfig)
	if in.WorkflowInput.Champion != nil {
		// The challenger is evaluated on the holdout data its champion scored.
		if err := h.requireHoldout(ctx, r.bucket, eval.InferenceConfig.InferenceInput, target); err != nil {
			return contract.InitializeTrainingOutput{}, err
		}
	}
	if err := h.putRequest(ctx, r); err != nil {
		return contract.InitializeTrainingOutput{}, err
	}
	return contract.InitializeTrainingOutput{
		WorkflowRequest:  in.WorkflowInput,
		S3RootBucket:     r.bucket,
		DataDate:         r.date,
		RunDate:          r.at.Format(time.RFC3339),
		TrainingConfig:   cfg,
		EvaluationConfig: eval,
	}, nil
}

// holdoutDataKey and holdoutTargetKey are the holdout data (features) and target of a data date.
func holdoutDataKey(date string) string { return "input-data/" + date + "/holdout_data" }
func holdoutTargetKey(date string) string {
	return "input-data/" + date + "/holdout_target/holdout_target.csv"
}

// monitorConfig is monitor-performance's input for the transform ic: its predictions against target.
func monitorConfig(target contract.S3Location, ic contract.InferenceConfig) contract.MonitorConfig {
	return contract.MonitorConfig{MonitorInput: contract.MonitorInput{
		TargetS3Uri:     target.S3Uri,
		PredictionS3Uri: ic.InferenceOutput.S3Uri + "/holdout_data.csv.out",
	}}
}

// requireHoldout fails with DataNotFound unless the holdout data and its target exist.
func (h *Handlers) requireHoldout(ctx context.Context, bucket string, data, target contract.S3Location) error {
	if err := h.requirePrefix(ctx, bucket, data); err != nil {
		return err
	}
	if _, err := h.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(target.S3Key)}); err != nil {
		return s3Error("find target", target.S3Uri, err)
	}
	return nil
}

// maxCooldownSeconds bounds the retrain cooldown an event may ask for: a year.
const maxCooldownSeconds = 366 * 24 * 3600

// InitializeInference validates the request, checks that the holdout data and target exist, names the
// batch-transform job and writes the request to s3://<bucket>/workflow-requests/<job name>/workflow_request.json.
// It also returns the cutoffs of the retrain guard (RetrainGuard), from the run's time.
func (h *Handlers) InitializeInference(ctx context.Context, in contract.InitializeEvent) (contract.InitializeInferenceOutput, error) {
	r, err := h.newRun(contract.InferenceRequest, in)
	if err != nil {
		return contract.InitializeInferenceOutput{}, err
	}
	if in.RetrainCooldownSeconds < 0 || in.RetrainCooldownSeconds > maxCooldownSeconds {
		return contract.InitializeInferenceOutput{}, invalidInput("invalid event: RetrainCooldownSeconds %d must be between 0 and %d (a year)", in.RetrainCooldownSeconds, maxCooldownSeconds)
	}
	cfg := contract.InferenceConfig{
		InferenceJobName: r.job,
		InferenceInput:   r.location(holdoutDataKey(r.date)),
		InferenceOutput:  r.location("output-data/" + r.date + "/" + r.runID),
	}
	target := r.location(holdoutTargetKey(r.date))
	if err := h.requireHoldout(ctx, r.bucket, cfg.InferenceInput, target); err != nil {
		return contract.InitializeInferenceOutput{}, err
	}
	if err := h.putRequest(ctx, r); err != nil {
		return contract.InitializeInferenceOutput{}, err
	}
	return contract.InitializeInferenceOutput{
		WorkflowRequest: in.WorkflowInput,
		S3RootBucket:    r.bucket,
		DataDate:        r.date,
		RunDate:         r.at.Format(time.RFC3339),
		InferenceConfig: cfg,
		MonitorConfig:   monitorConfig(target, cfg),
		RetrainGuard: contract.RetrainGuard{
			CooldownSince: r.at.Add(-time.Duration(in.RetrainCooldownSeconds) * time.Second).Format(time.RFC3339),
			DaySince:      r.at.Add(-24 * time.Hour).Format(time.RFC3339),
		},
	}, nil
}

// requirePrefix fails with DataNotFound unless at least one object's key starts with loc.S3Key — the same
// prefix match SageMaker applies to an S3Prefix data source.
func (h *Handlers) requirePrefix(ctx context.Context, bucket string, loc contract.S3Location) error {
	out, err := h.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(loc.S3Key), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return s3Error("list", loc.S3Uri, err)
	}
	if len(out.Contents) == 0 {
		return &Error{Type: contract.ErrorDataNotFound, Message: fmt.Sprintf("no objects under %s", loc.S3Uri)}
	}
	return nil
}

// putRequest records the request under a key of its own, so runs never overwrite each other's record and a
// retry rewrites the same content.
func (h *Handlers) putRequest(ctx context.Context, r run) error {
	body, err := json.Marshal(r.in.WorkflowInput)
	if err != nil {
		return &Error{Type: contract.ErrorInternal, Message: fmt.Sprintf("encode workflow request: %v", err), Err: err}
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
