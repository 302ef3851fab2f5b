package lambdas

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/lambdas/contract"
)

func TestFunctionsNames(t *testing.T) {
	fns := Functions(newFakeS3(testBucket, nil))
	for _, name := range []string{"initialize-training", "initialize-inference", "monitor-performance"} {
		assert.Contains(t, fns, name)
	}
	assert.Len(t, fns, 3)
}

// TestFunctionsJSON checks the wire shapes: the field names the workflows and the state machines read.
func TestFunctionsJSON(t *testing.T) {
	data := map[string]string{predKey: "0.1\n0.4\n0.35\n0.8\n", targetKey: "0\n0\n1\n1\n"}
	for k, v := range trainingData {
		data[k] = v
	}
	fns := Functions(newFakeS3(testBucket, data), WithClock(fixedClock))
	ctx := context.Background()

	out, err := fns[contract.InitializeTrainingFunction].Invoke(ctx, []byte(`{"WorkflowInput":{"ModelName":"m","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-data","IdempotencyKey":"k","RunTime":"2019-10-02T00:00:00Z"}`))
	require.NoError(t, err)
	run := "20191002T000000-" + suffix("training", "k", "m", "2019-10-01")
	assert.JSONEq(t, `{
		"WorkflowRequest": {"ModelName": "m", "DataDate": "2019-10-01"},
		"S3RootBucket": "mdlc-data", "DataDate": "2019-10-01", "RunDate": "2019-10-02T00:00:00Z",
		"TrainingConfig": {
			"TrainingJobName": "m-`+run+`",
			"TrainingInput": {"S3Key": "input-data/2019-10-01/train", "S3Uri": "s3://mdlc-data/input-data/2019-10-01/train"},
			"ValidationInput": {"S3Key": "input-data/2019-10-01/validation", "S3Uri": "s3://mdlc-data/input-data/2019-10-01/validation"},
			"TrainingOutput": {"S3Key": "model/2019-10-01/`+run+`", "S3Uri": "s3://mdlc-data/model/2019-10-01/`+run+`"}
		},
		"EvaluationConfig": {
			"InferenceConfig": {
				"InferenceJobName": "m-`+run+`",
				"InferenceInput": {"S3Key": "input-data/2019-10-01/holdout_data", "S3Uri": "s3://mdlc-data/input-data/2019-10-01/holdout_data"},
				"InferenceOutput": {"S3Key": "output-data/2019-10-01/`+run+`", "S3Uri": "s3://mdlc-data/output-data/2019-10-01/`+run+`"}
			},
			"MonitorConfig": {"MonitorInput": {
				"TargetS3Uri": "s3://mdlc-data/input-data/2019-10-01/holdout_target/holdout_target.csv",
				"PredictionS3Uri": "s3://mdlc-data/output-data/2019-10-01/`+run+`/holdout_data.csv.out"
			}},
			"EvaluationOutput": {"S3Key": "evaluation/2019-10-01/`+run+`/evaluation.json", "S3Uri": "s3://mdlc-data/evaluation/2019-10-01/`+run+`/evaluation.json"}
		}}`, string(out))

	out, err = fns[contract.MonitorPerformanceFunction].Invoke(ctx, []byte(`{"PredictionInput":"`+predURI+`","TargetInput":"`+targetURI+`"}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"ModelPerformance": 0.75}`, string(out))

	// With an evaluation: the comparison and the evidence's place.
	out, err = fns[contract.MonitorPerformanceFunction].Invoke(ctx, []byte(`{"PredictionInput":"`+predURI+`","TargetInput":"`+targetURI+`",
		"Evaluation":{"OutputS3Uri":"s3://mdlc-data/evaluation/e.json","DataDate":"2019-10-01","PromotionMargin":0.05,
		"Champion":{"ModelPackageArn":"arn:p/1","ModelPackageVersion":1,"SageMakerModelName":"m-1","AUC":0.72}}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"ModelPerformance": 0.75, "Evaluation": {"S3Uri": "s3://mdlc-data/evaluation/e.json",
		"ChallengerAUC": 0.75, "ChampionAUC": 0.72, "PromotionMargin": 0.05, "Bar": `+contract.FormatAUC(0.72+0.05)+`, "Decision": "Rejected",
		"Reason": "rejected: challenger AUC 0.7500 < champion AUC 0.7200 (version 1) + margin 0.05 on 2019-10-01",
		"ChallengerAUCText": "0.75", "ChampionAUCText": "0.72"}}`, string(out))

	// The inference output's field names, on a decoded value (its shape is checked field by field in
	// TestInitializeInference).
	b, err := json.Marshal(contract.InitializeInferenceOutput{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"WorkflowRequest":{"ModelName":"","DataDate":""},"S3RootBucket":"","DataDate":"","RunDate":"",
		"InferenceConfig":{"InferenceJobName":"","InferenceInput":{"S3Key":"","S3Uri":""},"InferenceOutput":{"S3Key":"","S3Uri":""}},
		"MonitorConfig":{"MonitorInput":{"TargetS3Uri":"","PredictionS3Uri":""}},
		"RetrainGuard":{"CooldownSince":"","DaySince":""}}`, string(b))
}

// TestFunctionsErrors checks that failures leave the handler as the messages.InvokeResponse_Error value that
// aws-lambda-go reports verbatim as errorType and errorMessage.
func TestFunctionsErrors(t *testing.T) {
	fns := Functions(newFakeS3(testBucket, nil))
	tests := []struct {
		name, function, payload, wantType string
	}{
		{"malformed json", contract.InitializeTrainingFunction, `{"WorkflowInput":`, contract.ErrorInvalidInput},
		{"wrong field type", contract.InitializeInferenceFunction, `{"WorkflowInput":"m"}`, contract.ErrorInvalidInput},
		{"empty payload", contract.MonitorPerformanceFunction, ``, contract.ErrorInvalidInput},
		{"null payload", contract.InitializeTrainingFunction, `null`, contract.ErrorInvalidInput},
		{"missing data", contract.InitializeTrainingFunction, `{"WorkflowInput":{"ModelName":"m","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-data"}`, contract.ErrorDataNotFound},
		{"missing bucket", contract.MonitorPerformanceFunction, `{"PredictionInput":"s3://none/p","TargetInput":"s3://none/t"}`, contract.ErrorDataNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := fns[tt.function].Invoke(context.Background(), []byte(tt.payload))
			require.Error(t, err, "output %s", out)
			lambdaErr, ok := err.(messages.InvokeResponse_Error) //nolint:errorlint // aws-lambda-go asserts this exact type
			require.True(t, ok, "error %T %v is not a messages.InvokeResponse_Error", err, err)
			assert.Equal(t, tt.wantType, lambdaErr.Type)
			assert.NotEmpty(t, lambdaErr.Message)
			// Callers decode the payload the runtime writes for this error as the contract's FunctionError.
			b, err := json.Marshal(lambdaErr)
			require.NoError(t, err)
			var fe contract.FunctionError
			require.NoError(t, json.Unmarshal(b, &fe))
			assert.Equal(t, contract.FunctionError{Message: lambdaErr.Message, Type: lambdaErr.Type}, fe, "payload %s", b)
		})
	}
}
