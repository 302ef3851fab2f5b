package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

// bomb is a model.tar.gz holding one file of size zeros: a few kilobytes that unpack to size bytes.
func bomb(t *testing.T, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "xgboost-model", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}))
	_, err = io.CopyN(tw, zeros{}, size)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestModelArchiveUnpackingIsBounded(t *testing.T) {
	const limit = 1 << 20
	e := newEnv(t, &fakeAlgorithm{predict: echoPredict}, func(o *Options) { o.MaxModelBytes = limit })
	ctx := context.Background()
	b := bomb(t, 20*limit)
	require.Less(t, len(b), limit/10, "the archive is small; what it unpacks to is not")
	e.put(t, "model/bomb.tar.gz", string(b))
	e.put(t, "input-data/d1/holdout_data/holdout_data.csv", "a,1\n")
	_, err := e.client.CreateModel(ctx, &sm.CreateModelInput{
		ModelName: aws.String("bomb"), ExecutionRoleArn: aws.String(testRole),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(testImage), ModelDataUrl: aws.String("s3://" + testBucket + "/model/bomb.tar.gz")},
	})
	require.NoError(t, err)
	_, err = e.client.CreateTransformJob(ctx, newTransformInput("bomb-infer", "bomb", "input-data/d1/holdout_data"))
	require.NoError(t, err)
	out := e.waitTransform(t, "bomb-infer")
	require.Equal(t, types.TransformJobStatusFailed, out.TransformJobStatus)
	reason := aws.ToString(out.FailureReason)
	require.True(t, strings.HasPrefix(reason, "ClientError: Could not unpack model data from s3://"+testBucket+"/model/bomb.tar.gz"), reason)
	require.Contains(t, reason, "exceeds the limit of 1048576 bytes")
	require.Contains(t, reason, "--max-model-bytes")
	// Nothing of the model stays on disk.
	dir := e.svc.jobDir(kindTransform, "bomb-infer")
	require.NoDirExists(t, filepath.Join(dir, "model"))
	require.FileExists(t, filepath.Join(dir, "transform.log"))
}

func TestUntarGzStopsAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	err := untarGz(bytes.NewReader(bomb(t, 4096)), dir, 4095)
	require.ErrorIs(t, err, errTooLarge)
	require.NoError(t, untarGz(bytes.NewReader(bomb(t, 4096)), t.TempDir(), 4096), "a model of exactly the limit unpacks")
}

func TestNonFiniteMetricsAreLeftOut(t *testing.T) {
	train := func(ctx context.Context, root string, logs io.Writer) ([]algorithm.Metric, error) {
		if _, err := countingTrain(ctx, root, logs); err != nil {
			return nil, err
		}
		return []algorithm.Metric{{Name: "validation:mape", Value: math.Inf(1)}, {Name: "train:mape", Value: math.NaN()}, {Name: "validation:auc", Value: 0.5}}, nil
	}
	e := newEnv(t, &fakeAlgorithm{train: train})
	out := e.train(t, "mape")
	require.Len(t, out.FinalMetricDataList, 1)
	require.Equal(t, "validation:auc", aws.ToString(out.FinalMetricDataList[0].MetricName))
	require.NotNil(t, out.ModelArtifacts)
	logs, err := os.ReadFile(filepath.Join(e.svc.jobDir(kindTraining, "mape"), "algorithm.log"))
	require.NoError(t, err)
	require.Contains(t, string(logs), "metric validation:mape is +Inf")
	// The state on disk says what the service says: a restarted service describes the same job.
	again := newEnvOn(t, e.dir, e.objects, &fakeAlgorithm{train: train})
	d, err := again.client.DescribeTrainingJob(context.Background(), &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("mape")})
	require.NoError(t, err)
	require.Equal(t, types.TrainingJobStatusCompleted, d.TrainingJobStatus)
	require.Len(t, d.FinalMetricDataList, 1)
}

func TestFailedSaveChangesNothing(t *testing.T) {
	var cancelled atomic.Int32
	started := make(chan string, 1)
	e := newEnv(t, &fakeAlgorithm{train: blockingTrain(started, &cancelled)})
	ctx := context.Background()
	_, err := e.client.CreateTrainingJob(ctx, e.trainingInput(t, "unsaved"))
	require.NoError(t, err)
	<-started
	// The state directory cannot be written: a plain file stands where it should be.
	state := filepath.Join(e.dir, stateDir, kindTraining)
	require.NoError(t, os.Rename(state, state+".moved"))
	require.NoError(t, os.WriteFile(state, nil, 0o644))
	_, err = e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("unsaved")})
	code, _ := apiCode(t, err)
	require.Equal(t, "InternalFailure", code)
	d, err := e.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("unsaved")})
	require.NoError(t, err)
	require.Equal(t, types.TrainingJobStatusInProgress, d.TrainingJobStatus, "a stop that was not saved must not show")
	require.NoError(t, os.Remove(state))
	require.NoError(t, os.Rename(state+".moved", state))
	_, err = e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("unsaved")})
	require.NoError(t, err)
	require.Equal(t, types.TrainingJobStatusStopped, e.waitTraining(t, "unsaved").TrainingJobStatus)
}

func TestCorruptStateFileIsSetAside(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	e.train(t, "good")
	e.train(t, "cut-short")
	ctx := context.Background()
	_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	require.NoError(t, e.svc.Close())
	bad := filepath.Join(e.dir, stateDir, kindTraining, "cut-short.json")
	b, err := os.ReadFile(bad)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, b[:len(b)/2], 0o644))
	empty := filepath.Join(e.dir, stateDir, kindGroup, "empty.json")
	require.NoError(t, os.WriteFile(empty, []byte("{}"), 0o644))

	again := newEnvOn(t, e.dir, e.objects, &fakeAlgorithm{train: countingTrain}, func(o *Options) { o.Logger = logger })
	d, err := again.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("good")})
	require.NoError(t, err)
	require.Equal(t, types.TrainingJobStatusCompleted, d.TrainingJobStatus)
	_, err = again.client.DescribeModelPackageGroup(ctx, &sm.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	_, err = again.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("cut-short")})
	code, _ := apiCode(t, err)
	require.Equal(t, "ValidationException", code)
	require.FileExists(t, bad+corruptSuffix)
	require.NoFileExists(t, bad)
	require.FileExists(t, empty+corruptSuffix)
	require.Contains(t, logs.String(), "sagemaker state file is corrupt")
	require.Contains(t, logs.String(), "cut-short.json.corrupt")

	// Corrupt again: the file set aside before stays as it was.
	require.NoError(t, again.svc.Close())
	require.NoError(t, os.WriteFile(bad, []byte("{"), 0o644))
	newEnvOn(t, e.dir, e.objects, &fakeAlgorithm{train: countingTrain})
	first, err := os.ReadFile(bad + corruptSuffix)
	require.NoError(t, err)
	require.Equal(t, b[:len(b)/2], first)
	second, err := os.ReadFile(bad + corruptSuffix + ".1")
	require.NoError(t, err)
	require.Equal(t, "{", string(second))
}

func TestStateFilesLeaveNoTempFiles(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	e.train(t, "j")
	stale := filepath.Join(e.dir, stateDir, kindTraining, ".j.123.tmp")
	require.NoError(t, os.WriteFile(stale, []byte("{"), 0o644))
	require.NoError(t, e.svc.Close())
	newEnvOn(t, e.dir, e.objects, &fakeAlgorithm{train: countingTrain})
	require.NoFileExists(t, stale)
	for _, f := range stateFiles(t, filepath.Join(e.dir, stateDir)) {
		require.True(t, strings.HasSuffix(f, ".json"), "state file %s", f)
	}
}
