package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/internal/quote"
	"github.com/mdlc/mdlc/lambdas/contract"
)

// maxFunctionErrorBytes bounds the part of a function's errorMessage an activity error repeats.
const maxFunctionErrorBytes = 2048

// invoke calls a Lambda function synchronously with event and decodes its output into out. A function error
// comes back as an application error typed with the function's errorType, non-retryable when the contract
// says the error is permanent (the input is wrong); any other (S3 trouble, runtime errors) is retried.
func (a *Activities) invoke(ctx context.Context, function string, event, out any) error {
	payload, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encode event for lambda function %q: %w", function, err)
	}
	defer a.keepAlive(ctx)()
	res, err := a.lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return awsError(fmt.Sprintf("invoke lambda function %q", function), err)
	}
	if res.FunctionError != nil {
		var fe contract.FunctionError
		if err := json.Unmarshal(res.Payload, &fe); err != nil || fe.Type == "" {
			fe.Type, fe.Message = "Lambda."+aws.ToString(res.FunctionError), string(res.Payload)
		}
		if len(fe.Message) > maxFunctionErrorBytes {
			// A function that echoes an oversized value (an older deployment, another implementation) must not
			// make the failure exceed Temporal's size limit, which would terminate the run instead of failing it.
			fe.Message = fmt.Sprintf("%s… (%d bytes)", quote.Prefix(fe.Message, maxFunctionErrorBytes), len(fe.Message))
		}
		msg := fmt.Sprintf("lambda function %q: %s", function, fe.Message)
		if contract.Permanent(fe.Type) {
			return temporal.NewNonRetryableApplicationError(msg, fe.Type, nil)
		}
		return temporal.NewApplicationError(msg, fe.Type)
	}
	if err := json.Unmarshal(res.Payload, out); err != nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("lambda function %q returned output that is not the expected JSON: %v", function, err), "InvalidFunctionOutput", err)
	}
	return nil
}

// InitializeInput is the request of an Initialize step.
type InitializeInput struct {
	ModelName string
	DataDate  string
	// IdempotencyKey identifies the logical run (workflow ID and run ID); job names are derived from it, so a
	// retried step gets the same names.
	IdempotencyKey string
	// RunTime is the run's start time; the run timestamp in names and S3 keys comes from it.
	RunTime time.Time
	// Champion (training only) is the model version the new one must beat: initialize-training then checks
	// the holdout data the evaluation scores.
	Champion *contract.Champion `json:",omitempty"`
}

// S3Location is an S3 prefix or object, as the Lambda functions return them.
type S3Location = contract.S3Location

// initializeEvent is the Initialize functions' event for in. The workflows check the request's rules
// themselves and send only ModelName and DataDate.
func (a *Activities) initializeEvent(in InitializeInput) contract.InitializeEvent {
	ev := contract.InitializeEvent{
		WorkflowInput:  contract.WorkflowInput{ModelName: in.ModelName, DataDate: in.DataDate, Champion: in.Champion},
		S3RootBucket:   a.cfg.Bucket,
		IdempotencyKey: in.IdempotencyKey,
	}
	if !in.RunTime.IsZero() {
		ev.RunTime = in.RunTime.UTC().Format(time.RFC3339)
	}
	return ev
}

// TrainingPlan is what the initialize-training function decided for a training run.
type TrainingPlan struct {
	DataDate        string
	RunDate         string
	TrainingJobName string
	TrainingInput   S3Location
	ValidationInput S3Location
	TrainingOutput  S3Location
	// Evaluation is the plan of the evaluation against a champion (used only when the run has one).
	Evaluation EvaluationPlan `json:",omitzero"`
}

// EvaluationPlan is how a training run evaluates its model against a champion: a batch transform of the
// holdout data and its monitor, planned as a batch-inference run's, and where the evidence goes.
type EvaluationPlan struct {
	Transform InferencePlan
	// EvaluationS3Uri is the evaluation JSON monitor-performance writes.
	EvaluationS3Uri string
}

// InitializeTraining invokes the initialize-training function.
func (a *Activities) InitializeTraining(ctx context.Context, in InitializeInput) (TrainingPlan, error) {
	var out contract.InitializeTrainingOutput
	if err := a.invoke(ctx, a.cfg.Functions.InitializeTraining, a.initializeEvent(in), &out); err != nil {
		return TrainingPlan{}, err
	}
	tc := out.TrainingConfig
	if tc.TrainingJobName == "" || tc.TrainingInput.S3Uri == "" || tc.TrainingOutput.S3Uri == "" {
		return TrainingPlan{}, temporal.NewNonRetryableApplicationError(
			"initialize-training returned no job name or S3 locations", "InvalidFunctionOutput", nil)
	}
	plan := TrainingPlan{
		DataDate: out.DataDate, RunDate: out.RunDate, TrainingJobName: tc.TrainingJobName,
		TrainingInput: tc.TrainingInput, ValidationInput: tc.ValidationInput, TrainingOutput: tc.TrainingOutput,
	}
	if in.Champion != nil {
		ec := out.EvaluationConfig
		ic, mi := ec.InferenceConfig, ec.MonitorConfig.MonitorInput
		if ic.InferenceJobName == "" || ic.InferenceInput.S3Uri == "" || mi.PredictionS3Uri == "" || mi.TargetS3Uri == "" || ec.EvaluationOutput.S3Uri == "" {
			return TrainingPlan{}, temporal.NewNonRetryableApplicationError(
				"initialize-training returned no evaluation job name or S3 locations for the champion's evaluation", "InvalidFunctionOutput", nil)
		}
		plan.Evaluation = EvaluationPlan{
			Transform: InferencePlan{
				DataDate: out.DataDate, RunDate: out.RunDate, InferenceJobName: ic.InferenceJobName,
				InferenceInput: ic.InferenceInput, InferenceOutput: ic.InferenceOutput,
				TargetS3Uri: mi.TargetS3Uri, PredictionS3Uri: mi.PredictionS3Uri,
			},
			EvaluationS3Uri: ec.EvaluationOutput.S3Uri,
		}
	}
	return plan, nil
}

// InferencePlan is what the initialize-inference function decided for a batch-inference run.
type InferencePlan struct {
	DataDate         string
	RunDate          string
	InferenceJobName string
	InferenceInput   S3Location
	InferenceOutput  S3Location
	TargetS3Uri      string
	PredictionS3Uri  string
}

// InitializeInference invokes the initialize-inference function.
func (a *Activities) InitializeInference(ctx context.Context, in InitializeInput) (InferencePlan, error) {
	var out contract.InitializeInferenceOutput
	if err := a.invoke(ctx, a.cfg.Functions.InitializeInference, a.initializeEvent(in), &out); err != nil {
		return InferencePlan{}, err
	}
	ic, mi := out.InferenceConfig, out.MonitorConfig.MonitorInput
	if ic.InferenceJobName == "" || ic.InferenceInput.S3Uri == "" || mi.PredictionS3Uri == "" || mi.TargetS3Uri == "" {
		return InferencePlan{}, temporal.NewNonRetryableApplicationError(
			"initialize-inference returned no job name or S3 locations", "InvalidFunctionOutput", nil)
	}
	return InferencePlan{
		DataDate: out.DataDate, RunDate: out.RunDate, InferenceJobName: ic.InferenceJobName,
		InferenceInput: ic.InferenceInput, InferenceOutput: ic.InferenceOutput,
		TargetS3Uri: mi.TargetS3Uri, PredictionS3Uri: mi.PredictionS3Uri,
	}, nil
}

// MonitorInput names the predictions and the true targets to compare.
type MonitorInput struct {
	PredictionS3Uri string
	TargetS3Uri     string
	// Evaluation, when set, asks for the comparison with a champion and its evidence in S3.
	Evaluation *contract.EvaluationRequest `json:",omitempty"`
}

// MonitorOutput is the model's measured performance.
type MonitorOutput struct {
	// AUC is the ROC AUC of the predictions against the targets.
	AUC float64
	// Evaluation is the comparison with the champion, when asked for.
	Evaluation *contract.Evaluation `json:",omitempty"`
}

// MonitorPerformance invokes the monitor-performance function.
func (a *Activities) MonitorPerformance(ctx context.Context, in MonitorInput) (MonitorOutput, error) {
	event := contract.MonitorEvent{PredictionInput: in.PredictionS3Uri, TargetInput: in.TargetS3Uri, Evaluation: in.Evaluation}
	// JSON has no NaN: a ModelPerformance still NaN after decoding was absent (or null).
	out := contract.MonitorOutput{ModelPerformance: math.NaN()}
	if err := a.invoke(ctx, a.cfg.Functions.MonitorPerformance, event, &out); err != nil {
		return MonitorOutput{}, err
	}
	if !contract.ValidThreshold(out.ModelPerformance) {
		return MonitorOutput{}, temporal.NewNonRetryableApplicationError(
			"monitor-performance returned no ModelPerformance in [0, 1]", "InvalidFunctionOutput", nil)
	}
	if in.Evaluation != nil && out.Evaluation == nil {
		return MonitorOutput{}, temporal.NewNonRetryableApplicationError(
			"monitor-performance returned no Evaluation: is the deployed function older than this worker?", "InvalidFunctionOutput", nil)
	}
	return MonitorOutput{AUC: out.ModelPerformance, Evaluation: out.Evaluation}, nil
}
