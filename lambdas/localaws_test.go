package lambdas_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/lambdas"
	"github.com/mdlc/mdlc/localaws"
	"github.com/mdlc/mdlc/localaws/algorithm"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// noAlgorithms keeps this test independent of XGBoost: it trains nothing.
type noAlgorithms struct{}

func (noAlgorithms) Resolve(image string) (algorithm.Algorithm, error) {
	return nil, errors.New("no algorithms in this test")
}

// TestFunctionsInLocalAWS registers Functions in localaws and invokes each through the aws-sdk-go-v2 Lambda
// client, the way the Temporal activities do: the output must equal calling the handler directly, and a
// handler error must arrive as a function error carrying its errorType.
func TestFunctionsInLocalAWS(t *testing.T) {
	ctx := context.Background()
	srv, err := localaws.New(ctx, localaws.Options{DataDir: t.TempDir(), Algorithms: noAlgorithms{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		assert.NoError(t, srv.Close())
	})
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	s3Client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, Credentials: creds})
	lambdaClient := awslambda.New(awslambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Credentials: creds})

	_, err = s3Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mdlc-data")})
	require.NoError(t, err)
	for key, body := range map[string]string{
		"input-data/2019-10-01/train/train.csv":                   "1,0.5\n0,0.1\n",
		"input-data/2019-10-01/validation/validation.csv":         "1,0.4\n",
		"input-data/2019-10-01/holdout_data/holdout_data.csv":     "0.1\n",
		"input-data/2019-10-01/holdout_target/holdout_target.csv": "0\n0\n1\n1\n",
		"output-data/2019-10-01/run/holdout_data.csv.out":         "0.1\n0.4\n0.35\n0.8\n",
		"output-data/2019-10-01/short-run/holdout_data.csv.out":   "0.1\n",
		"input-data/2019-10-01/holdout_target/single_class.csv":   "1\n",
	} {
		_, err := s3Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mdlc-data"), Key: aws.String(key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}

	clock := lambdas.WithClock(func() time.Time { return time.Date(2019, 10, 2, 0, 0, 0, 0, time.UTC) })
	fns := lambdas.Functions(s3Client, clock)
	for name, h := range fns {
		require.NoError(t, srv.RegisterFunction(name, h))
	}
	// An independent set of handlers gives the expected outputs (the registered ones write the same objects).
	direct := lambdas.Functions(s3Client, clock)

	initEvent := `{"WorkflowInput":{"ModelName":"ReInventTestModel","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-data","IdempotencyKey":"wf-1","RunTime":"2019-10-02T10:11:12Z"}`
	tests := []struct {
		name, function, payload string
		wantType                string // empty: success
	}{
		{"training", contract.InitializeTrainingFunction, initEvent, ""},
		{"inference", contract.InitializeInferenceFunction, initEvent, ""},
		{"monitor", contract.MonitorPerformanceFunction, `{"PredictionInput":"s3://mdlc-data/output-data/2019-10-01/run/holdout_data.csv.out","TargetInput":"s3://mdlc-data/input-data/2019-10-01/holdout_target/holdout_target.csv"}`, ""},
		{"invalid input", contract.InitializeTrainingFunction, `{"WorkflowInput":{"ModelName":"bad_name","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-data"}`, contract.ErrorInvalidInput},
		{"malformed event", contract.MonitorPerformanceFunction, `[1,2]`, contract.ErrorInvalidInput},
		{"data not found", contract.InitializeInferenceFunction, `{"WorkflowInput":{"ModelName":"m","DataDate":"2019-10-02"},"S3RootBucket":"mdlc-data"}`, contract.ErrorDataNotFound},
		{"invalid data", contract.MonitorPerformanceFunction, `{"PredictionInput":"s3://mdlc-data/output-data/2019-10-01/short-run/holdout_data.csv.out","TargetInput":"s3://mdlc-data/input-data/2019-10-01/holdout_target/holdout_target.csv"}`, contract.ErrorInvalidData},
		{"undefined metric", contract.MonitorPerformanceFunction, `{"PredictionInput":"s3://mdlc-data/output-data/2019-10-01/short-run/holdout_data.csv.out","TargetInput":"s3://mdlc-data/input-data/2019-10-01/holdout_target/single_class.csv"}`, contract.ErrorUndefinedMetric},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := lambdaClient.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: []byte(tt.payload)})
			require.NoError(t, err)
			want, wantErr := direct[tt.function].Invoke(ctx, []byte(tt.payload))
			if tt.wantType == "" {
				require.NoError(t, wantErr)
				require.Nil(t, out.FunctionError, "function error: %s", out.Payload)
				assert.JSONEq(t, string(want), string(out.Payload))
				return
			}
			require.Equal(t, "Unhandled", aws.ToString(out.FunctionError), "payload %s", out.Payload)
			var body struct {
				ErrorType    string `json:"errorType"`
				ErrorMessage string `json:"errorMessage"`
			}
			require.NoError(t, json.Unmarshal(out.Payload, &body))
			assert.Equal(t, tt.wantType, body.ErrorType)
			var directErr messages.InvokeResponse_Error
			require.ErrorAs(t, wantErr, &directErr)
			assert.Equal(t, directErr.Type, body.ErrorType)
			assert.Equal(t, directErr.Message, body.ErrorMessage)
		})
	}
}
