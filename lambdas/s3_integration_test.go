package lambdas

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// newS3Server serves an in-memory S3 (gofakes3) over loopback HTTP and returns a real SDK client for it, with
// bucket mdlc-data holding objects.
func newS3Server(t *testing.T, objects map[string]string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx := context.Background()
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)})
	require.NoError(t, err)
	for k, v := range objects {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(k), Body: strings.NewReader(v)})
		require.NoError(t, err)
	}
	return client
}

// TestHandlersOverRealS3 runs the three functions against gofakes3 through the real aws-sdk-go-v2 client, so
// the requests, the error codes on the wire and the streaming of bodies are the SDK's.
func TestHandlersOverRealS3(t *testing.T) {
	objects := map[string]string{}
	for _, m := range []map[string]string{trainingData, inferenceData, {predKey: "0.1\n0.4\n0.35\n0.8\n", targetKey: "0\n0\n1\n1\n"}} {
		for k, v := range m {
			objects[k] = v
		}
	}
	client := newS3Server(t, objects)
	fns := Functions(client, WithClock(fixedClock))
	h := New(client, WithClock(fixedClock))
	ctx := context.Background()

	t.Run("initialize-training", func(t *testing.T) {
		payload := `{"WorkflowInput":{"ModelName":"ReInventTestModel","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-data","IdempotencyKey":"wf"}`
		out, err := fns[contract.InitializeTrainingFunction].Invoke(ctx, []byte(payload))
		require.NoError(t, err)
		assert.Contains(t, string(out), `"TrainingJobName":"ReInventTestModel-20191203T040506-`)
		direct, err := h.InitializeTraining(ctx, contract.InitializeEvent{WorkflowInput: contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-10-01"}, S3RootBucket: testBucket, IdempotencyKey: "wf"})
		require.NoError(t, err)
		got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket),
			Key: aws.String("workflow-requests/" + direct.TrainingConfig.TrainingJobName + "/workflow_request.json")})
		require.NoError(t, err, "the workflow request was not written")
		body, _ := io.ReadAll(got.Body)
		assert.JSONEq(t, `{"ModelName":"ReInventTestModel","DataDate":"2019-10-01"}`, string(body))
	})

	t.Run("initialize-inference", func(t *testing.T) {
		out, err := h.InitializeInference(ctx, contract.InitializeEvent{WorkflowInput: contract.WorkflowInput{ModelName: "ReInventTestModel", DataDate: "2019-11-01"}, S3RootBucket: testBucket})
		require.NoError(t, err)
		assert.Equal(t, "s3://mdlc-data/input-data/2019-11-01/holdout_target/holdout_target.csv", out.MonitorConfig.MonitorInput.TargetS3Uri)
	})

	t.Run("monitor-performance", func(t *testing.T) {
		out, err := h.MonitorPerformance(ctx, contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
		require.NoError(t, err)
		assert.Equal(t, 0.75, out.ModelPerformance)
	})

	errorCases := []struct {
		name     string
		call     func() error
		wantType string
		wantMsg  string
	}{
		{"training data missing for the date", func() error {
			_, err := h.InitializeTraining(ctx, contract.InitializeEvent{WorkflowInput: contract.WorkflowInput{ModelName: "m", DataDate: "2020-01-01"}, S3RootBucket: testBucket})
			return err
		}, contract.ErrorDataNotFound, "no objects under s3://mdlc-data/input-data/2020-01-01/train"},
		{"bucket missing (ListObjectsV2)", func() error {
			_, err := h.InitializeTraining(ctx, contract.InitializeEvent{WorkflowInput: contract.WorkflowInput{ModelName: "m", DataDate: "2019-10-01"}, S3RootBucket: "no-such-bucket"})
			return err
		}, contract.ErrorDataNotFound, "s3://no-such-bucket/input-data/2019-10-01/train"},
		{"target missing (HeadObject)", func() error {
			c := newS3Server(t, map[string]string{"input-data/2019-11-01/holdout_data/holdout_data.csv": "1\n"})
			_, err := New(c).InitializeInference(ctx, contract.InitializeEvent{WorkflowInput: contract.WorkflowInput{ModelName: "m", DataDate: "2019-11-01"}, S3RootBucket: testBucket})
			return err
		}, contract.ErrorDataNotFound, "holdout_target.csv"},
		{"prediction missing (GetObject)", func() error {
			_, err := h.MonitorPerformance(ctx, contract.MonitorEvent{PredictionInput: predURI + ".missing", TargetInput: targetURI})
			return err
		}, contract.ErrorDataNotFound, predURI + ".missing"},
		{"bucket missing (GetObject)", func() error {
			_, err := h.MonitorPerformance(ctx, contract.MonitorEvent{PredictionInput: predURI, TargetInput: "s3://no-such-bucket/t.csv"})
			return err
		}, contract.ErrorDataNotFound, "s3://no-such-bucket/t.csv"},
		{"endpoint down", func() error {
			srv := httptest.NewServer(nil)
			srv.Close()
			c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := New(c).MonitorPerformance(cctx, contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
			return err
		}, contract.ErrorS3, "get target " + targetURI},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, tt.call(), tt.wantType, tt.wantMsg)
		})
	}
}

// TestMonitorLargeFileOverRealS3 streams a file of 200,000 rows through the SDK.
func TestMonitorLargeFileOverRealS3(t *testing.T) {
	const n = 200_000
	var pred, target bytes.Buffer
	for i := range n {
		// Perfectly separable: positives (odd rows) score above every negative.
		if i%2 == 1 {
			target.WriteString("1\n")
			pred.WriteString("0.9\n")
		} else {
			target.WriteString("0\n")
			pred.WriteString("0.1\n")
		}
	}
	client := newS3Server(t, map[string]string{predKey: pred.String(), targetKey: target.String()})
	out, err := New(client).MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
	require.NoError(t, err)
	assert.Equal(t, 1.0, out.ModelPerformance)
}
