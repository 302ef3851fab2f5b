package sagemaker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

const (
	testImage   = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
	testRole    = "arn:aws:iam::123456789012:role/service-role/mdlc"
	testBucket  = "mdlc-bucket"
	testAccount = "123456789012"
)

// fakeAlgorithm trains and predicts with functions a test chooses.
type fakeAlgorithm struct {
	train   func(ctx context.Context, root string, logs io.Writer) ([]algorithm.Metric, error)
	predict func(ctx context.Context, modelDir, input, output string) error
}

func (f *fakeAlgorithm) Train(ctx context.Context, root string, logs io.Writer) ([]algorithm.Metric, error) {
	return f.train(ctx, root, logs)
}

func (f *fakeAlgorithm) Predict(ctx context.Context, modelDir, input, output string) error {
	return f.predict(ctx, modelDir, input, output)
}

// fakeResolver knows one image.
type fakeResolver struct{ alg algorithm.Algorithm }

func (r fakeResolver) Resolve(image string) (algorithm.Algorithm, error) {
	if image != testImage {
		return nil, fmt.Errorf("image %q is not supported locally", image)
	}
	return r.alg, nil
}

// countingTrain writes the number of train rows into model/rows and reports two metrics.
func countingTrain(_ context.Context, root string, logs io.Writer) ([]algorithm.Metric, error) {
	rows := 0
	err := filepath.WalkDir(filepath.Join(root, "input", "data", "train"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rows += bytes.Count(b, []byte("\n"))
		return err
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logs, "trained on %d rows\n", rows)
	if err := os.WriteFile(filepath.Join(root, "model", "rows"), []byte(fmt.Sprint(rows)), 0o644); err != nil {
		return nil, err
	}
	return []algorithm.Metric{{Name: "validation:auc", Value: 0.875}, {Name: "validation:logloss", Value: 0.25}}, nil
}

// echoPredict writes, for each record, "<model rows>:<first field>", so tests see the model and the order.
func echoPredict(_ context.Context, modelDir, input, output string) error {
	rows, err := os.ReadFile(filepath.Join(modelDir, "rows"))
	if err != nil {
		return err
	}
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		first, _, _ := strings.Cut(sc.Text(), ",")
		fmt.Fprintf(&out, "%s:%s\n", rows, first)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return os.WriteFile(output, out.Bytes(), 0o644)
}

// blockingTrain waits until its context ends, then reports that it was cancelled.
func blockingTrain(started chan<- string, cancelled *atomic.Int32) func(context.Context, string, io.Writer) ([]algorithm.Metric, error) {
	return func(ctx context.Context, root string, _ io.Writer) ([]algorithm.Metric, error) {
		if started != nil {
			started <- root
		}
		<-ctx.Done()
		cancelled.Add(1)
		return nil, ctx.Err()
	}
}

// env is a service under test behind a real HTTP server, with a real SDK client.
type env struct {
	svc     *Service
	objects gofakes3.Backend
	client  *sm.Client
	url     string
	dir     string
}

type envOption func(*Options)

// testClock ticks one second per reading, so creation times are distinct and ordered.
func testClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

func newEnv(t *testing.T, alg algorithm.Algorithm, options ...envOption) *env {
	t.Helper()
	objects := s3mem.New()
	require.NoError(t, objects.CreateBucket(testBucket))
	return newEnvOn(t, t.TempDir(), objects, alg, options...)
}

func newEnvOn(t *testing.T, dir string, objects gofakes3.Backend, alg algorithm.Algorithm, options ...envOption) *env {
	t.Helper()
	opts := Options{Dir: dir, Objects: objects, Algorithms: fakeResolver{alg}, Region: "us-east-1", AccountID: testAccount, Clock: testClock()}
	for _, o := range options {
		o(&opts)
	}
	svc, err := New(context.Background(), opts)
	require.NoError(t, err)
	srv := httptest.NewServer(svc)
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, svc.Close())
	})
	client := sm.New(sm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}),
		Retryer: aws.NopRetryer{},
	})
	return &env{svc: svc, objects: objects, client: client, url: srv.URL, dir: dir}
}

func (e *env) put(t *testing.T, key, body string) {
	t.Helper()
	_, err := e.objects.PutObject(testBucket, key, nil, strings.NewReader(body), int64(len(body)), nil)
	require.NoError(t, err)
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := e.objects.GetObject(testBucket, key, nil)
	require.NoError(t, err, "get %s", key)
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	require.NoError(t, err)
	return b
}

// call sends a raw JSON request, for requests the SDK would refuse to send.
func (e *env) call(t *testing.T, op, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", "SageMaker."+op)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// trainingInput is a valid CreateTrainingJob request with data for it under input/.
func (e *env) trainingInput(t *testing.T, name string) *sm.CreateTrainingJobInput {
	t.Helper()
	e.put(t, "input-data/d1/train/train.csv", "1,0.1,0.2\n0,0.3,0.4\n1,0.5,0.6\n")
	e.put(t, "input-data/d1/validation/validation.csv", "0,0.1,0.1\n1,0.2,0.2\n")
	channel := func(name, prefix string) types.Channel {
		return types.Channel{
			ChannelName: aws.String(name),
			ContentType: aws.String("text/csv"),
			DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{
				S3DataType: types.S3DataTypeS3Prefix, S3Uri: aws.String("s3://" + testBucket + "/" + prefix),
				S3DataDistributionType: types.S3DataDistributionFullyReplicated,
			}},
		}
	}
	return &sm.CreateTrainingJobInput{
		TrainingJobName:        aws.String(name),
		AlgorithmSpecification: &types.AlgorithmSpecification{TrainingImage: aws.String(testImage), TrainingInputMode: types.TrainingInputModeFile},
		RoleArn:                aws.String(testRole),
		HyperParameters:        map[string]string{"objective": "binary:logistic", "num_round": "5"},
		InputDataConfig:        []types.Channel{channel("train", "input-data/d1/train"), channel("validation", "input-data/d1/validation")},
		OutputDataConfig:       &types.OutputDataConfig{S3OutputPath: aws.String("s3://" + testBucket + "/model/d1")},
		ResourceConfig:         &types.ResourceConfig{InstanceType: types.TrainingInstanceTypeMlM54xlarge, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(50)},
		StoppingCondition:      &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
	}
}

// waitTraining polls until the job leaves InProgress and Stopping.
func (e *env) waitTraining(t *testing.T, name string) *sm.DescribeTrainingJobOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.client.DescribeTrainingJob(context.Background(), &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		require.NoError(t, err)
		switch out.TrainingJobStatus {
		case types.TrainingJobStatusCompleted, types.TrainingJobStatusFailed, types.TrainingJobStatusStopped:
			return out
		}
		require.True(t, time.Now().Before(deadline), "training job %s still %s", name, out.TrainingJobStatus)
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) waitTransform(t *testing.T, name string) *sm.DescribeTransformJobOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.client.DescribeTransformJob(context.Background(), &sm.DescribeTransformJobInput{TransformJobName: aws.String(name)})
		require.NoError(t, err)
		switch out.TransformJobStatus {
		case types.TransformJobStatusCompleted, types.TransformJobStatusFailed, types.TransformJobStatusStopped:
			return out
		}
		require.True(t, time.Now().Before(deadline), "transform job %s still %s", name, out.TransformJobStatus)
		time.Sleep(20 * time.Millisecond)
	}
}

// train runs one training job to completion and returns its description.
func (e *env) train(t *testing.T, name string) *sm.DescribeTrainingJobOutput {
	t.Helper()
	_, err := e.client.CreateTrainingJob(context.Background(), e.trainingInput(t, name))
	require.NoError(t, err)
	out := e.waitTraining(t, name)
	require.Equal(t, types.TrainingJobStatusCompleted, out.TrainingJobStatus, aws.ToString(out.FailureReason))
	return out
}

// apiCode returns the AWS error code and message of err.
func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	require.Error(t, err)
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	return ae.ErrorCode(), ae.ErrorMessage()
}

// stateFiles lists the files under the service's state directory.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, rel)
		return nil
	})
	require.NoError(t, err)
	return files
}
