package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/localaws/algorithm"
)

func secondaryStatuses(out *sm.DescribeTrainingJobOutput) []types.SecondaryStatus {
	var got []types.SecondaryStatus
	for _, tr := range out.SecondaryStatusTransitions {
		got = append(got, tr.Status)
	}
	return got
}

func untar(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[hdr.Name] = string(body)
	}
}

func TestTrainingJobCompletes(t *testing.T) {
	var seen atomic.Value
	alg := &fakeAlgorithm{train: func(ctx context.Context, root string, logs io.Writer) ([]algorithm.Metric, error) {
		b, err := os.ReadFile(filepath.Join(root, "input", "config", "hyperparameters.json"))
		if err != nil {
			return nil, err
		}
		seen.Store(string(b))
		return countingTrain(ctx, root, logs)
	}}
	e := newEnv(t, alg)
	ctx := context.Background()
	created, err := e.client.CreateTrainingJob(ctx, e.trainingInput(t, "Churn-20261101T120000"))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-20261101t120000", aws.ToString(created.TrainingJobArn))

	out := e.waitTraining(t, "Churn-20261101T120000")
	require.Equal(t, types.TrainingJobStatusCompleted, out.TrainingJobStatus)
	require.Equal(t, types.SecondaryStatusCompleted, out.SecondaryStatus)
	require.Equal(t, []types.SecondaryStatus{"Starting", "Downloading", "Training", "Uploading", "Completed"}, secondaryStatuses(out))
	for i, tr := range out.SecondaryStatusTransitions {
		require.NotNil(t, tr.StartTime, "transition %d", i)
		require.NotNil(t, tr.EndTime, "transition %d", i)
		require.NotEmpty(t, aws.ToString(tr.StatusMessage), "transition %d", i)
	}
	require.Equal(t, "s3://mdlc-bucket/model/d1/Churn-20261101T120000/output/model.tar.gz", aws.ToString(out.ModelArtifacts.S3ModelArtifacts))
	require.Equal(t, map[string]string{"rows": "3"}, untar(t, e.get(t, "model/d1/Churn-20261101T120000/output/model.tar.gz")))
	require.Len(t, out.FinalMetricDataList, 2)
	require.Equal(t, "validation:auc", aws.ToString(out.FinalMetricDataList[0].MetricName))
	require.InDelta(t, 0.875, aws.ToFloat32(out.FinalMetricDataList[0].Value), 1e-6)
	require.NotNil(t, out.FinalMetricDataList[0].Timestamp)
	require.NotNil(t, out.CreationTime)
	require.True(t, out.TrainingStartTime.After(*out.CreationTime))
	require.True(t, out.TrainingEndTime.After(*out.TrainingStartTime))
	require.True(t, !out.LastModifiedTime.Before(*out.TrainingEndTime))
	require.Positive(t, aws.ToInt32(out.TrainingTimeInSeconds))
	require.Equal(t, aws.ToInt32(out.TrainingTimeInSeconds), aws.ToInt32(out.BillableTimeInSeconds))
	require.Equal(t, int32(3600), aws.ToInt32(out.StoppingCondition.MaxRuntimeInSeconds))
	require.Equal(t, "5", out.HyperParameters["num_round"])
	require.Equal(t, testRole, aws.ToString(out.RoleArn))
	require.Nil(t, out.FailureReason)

	var hp map[string]string
	require.NoError(t, json.Unmarshal([]byte(seen.Load().(string)), &hp))
	require.Equal(t, map[string]string{"objective": "binary:logistic", "num_round": "5"}, hp)
	root := e.svc.jobDir(kindTraining, "churn-20261101t120000")
	require.FileExists(t, filepath.Join(root, "input", "config", "inputdataconfig.json"))
	// The working copies are gone once the job has ended (the model is in S3); the log stays.
	for _, f := range []string{"input/data", "model", "output/model.tar.gz"} {
		require.NoFileExists(t, filepath.Join(root, filepath.FromSlash(f)))
		require.NoDirExists(t, filepath.Join(root, filepath.FromSlash(f)))
	}
	logs, err := os.ReadFile(filepath.Join(root, "algorithm.log"))
	require.NoError(t, err)
	require.Contains(t, string(logs), "trained on 3 rows")
}

func TestTrainingJobEnds(t *testing.T) {
	tests := []struct {
		name          string
		train         func(context.Context, string, io.Writer) ([]algorithm.Metric, error)
		edit          func(*sm.CreateTrainingJobInput)
		stop          bool
		wantStatus    types.TrainingJobStatus
		wantSecondary types.SecondaryStatus
		wantReason    string
	}{
		{
			name: "algorithm error",
			train: func(context.Context, string, io.Writer) ([]algorithm.Metric, error) {
				return nil, errors.New("AlgorithmError: label column has values other than 0 and 1") // the algorithm's reason, whole
			},
			wantStatus: types.TrainingJobStatusFailed, wantSecondary: types.SecondaryStatusFailed,
			wantReason: "AlgorithmError: label column has values other than 0 and 1",
		},
		{
			name:  "unknown image",
			train: countingTrain,
			edit: func(in *sm.CreateTrainingJobInput) {
				in.AlgorithmSpecification.TrainingImage = aws.String("example.com/unknown:latest")
			},
			wantStatus: types.TrainingJobStatusFailed, wantSecondary: types.SecondaryStatusFailed,
			wantReason: `ClientError: image "example.com/unknown:latest" is not supported locally`,
		},
		{
			name: "max runtime",
			edit: func(in *sm.CreateTrainingJobInput) {
				in.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(1)
			},
			wantStatus: types.TrainingJobStatusStopped, wantSecondary: types.SecondaryStatusMaxRuntimeExceeded,
		},
		{
			name: "stop", stop: true,
			wantStatus: types.TrainingJobStatusStopped, wantSecondary: types.SecondaryStatusStopped,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cancelled atomic.Int32
			started := make(chan string, 1)
			train := tc.train
			if train == nil {
				train = blockingTrain(started, &cancelled)
			}
			e := newEnv(t, &fakeAlgorithm{train: train})
			ctx := context.Background()
			in := e.trainingInput(t, "job-1")
			if tc.edit != nil {
				tc.edit(in)
			}
			_, err := e.client.CreateTrainingJob(ctx, in)
			require.NoError(t, err)
			if tc.stop {
				<-started
				_, err := e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("job-1")})
				require.NoError(t, err)
			}
			out := e.waitTraining(t, "job-1")
			require.Equal(t, tc.wantStatus, out.TrainingJobStatus)
			require.Equal(t, tc.wantSecondary, out.SecondaryStatus)
			require.Equal(t, tc.wantReason, aws.ToString(out.FailureReason))
			require.NotNil(t, out.TrainingEndTime)
			require.Nil(t, out.ModelArtifacts)
			if tc.train == nil {
				require.Equal(t, int32(1), cancelled.Load(), "the algorithm was not cancelled")
			}
			if tc.stop {
				require.Contains(t, secondaryStatuses(out), types.SecondaryStatusStopping)
			}
			_, err = e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("job-1")})
			code, msg := apiCode(t, err)
			require.Equal(t, "ValidationException", code)
			require.Equal(t, "The request was rejected because the training job is in status "+string(tc.wantStatus)+".", msg)
		})
	}
}

func TestTrainingJobQueuedStops(t *testing.T) {
	var cancelled atomic.Int32
	started := make(chan string, 2)
	e := newEnv(t, &fakeAlgorithm{train: blockingTrain(started, &cancelled)}, func(o *Options) { o.MaxRunningJobs = 1 })
	ctx := context.Background()
	for _, name := range []string{"first", "second"} {
		_, err := e.client.CreateTrainingJob(ctx, e.trainingInput(t, name))
		require.NoError(t, err)
	}
	<-started
	queued, err := e.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("second")})
	require.NoError(t, err)
	require.Equal(t, types.TrainingJobStatusInProgress, queued.TrainingJobStatus)
	require.Equal(t, types.SecondaryStatusStarting, queued.SecondaryStatus)
	require.Nil(t, queued.TrainingStartTime)

	for _, name := range []string{"second", "first"} {
		_, err := e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String(name)})
		require.NoError(t, err)
		require.Equal(t, types.TrainingJobStatusStopped, e.waitTraining(t, name).TrainingJobStatus)
	}
	require.Equal(t, int32(1), cancelled.Load(), "only the running job had an algorithm to cancel")
}

func TestCloseFailsRunningJobs(t *testing.T) {
	var cancelled atomic.Int32
	started := make(chan string, 1)
	objects := newEnv(t, &fakeAlgorithm{train: countingTrain}).objects
	dir := t.TempDir()
	e := newEnvOn(t, dir, objects, &fakeAlgorithm{train: blockingTrain(started, &cancelled)})
	_, err := e.client.CreateTrainingJob(context.Background(), e.trainingInput(t, "running"))
	require.NoError(t, err)
	<-started
	require.NoError(t, e.svc.Close())
	require.Equal(t, int32(1), cancelled.Load())

	_, err = e.client.CreateTrainingJob(context.Background(), e.trainingInput(t, "late"))
	code, _ := apiCode(t, err)
	require.Equal(t, "ServiceUnavailable", code)

	again := newEnvOn(t, dir, objects, &fakeAlgorithm{train: countingTrain})
	out := again.waitTraining(t, "running")
	require.Equal(t, types.TrainingJobStatusFailed, out.TrainingJobStatus)
	require.Equal(t, reasonStopped, aws.ToString(out.FailureReason))
}

func TestRestartFailsJobsLeftRunning(t *testing.T) {
	var cancelled atomic.Int32
	started := make(chan string, 1)
	e := newEnv(t, &fakeAlgorithm{train: blockingTrain(started, &cancelled)})
	_, err := e.client.CreateTrainingJob(context.Background(), e.trainingInput(t, "running"))
	require.NoError(t, err)
	<-started
	// A copy of the state taken while the job runs is what a process that died would leave behind.
	crashed := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(crashed, stateDir), os.DirFS(filepath.Join(e.dir, stateDir))))

	restarted := newEnvOn(t, crashed, e.objects, &fakeAlgorithm{train: countingTrain})
	out := restarted.waitTraining(t, "running")
	require.Equal(t, types.TrainingJobStatusFailed, out.TrainingJobStatus)
	require.Equal(t, types.SecondaryStatusFailed, out.SecondaryStatus)
	require.Equal(t, reasonRestarted, aws.ToString(out.FailureReason))
	require.NotNil(t, out.TrainingEndTime)
}

func TestConcurrentJobsAreBounded(t *testing.T) {
	var running, peak atomic.Int32
	alg := &fakeAlgorithm{train: func(ctx context.Context, root string, logs io.Writer) ([]algorithm.Metric, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return countingTrain(ctx, root, logs)
	}}
	e := newEnv(t, alg, func(o *Options) { o.MaxRunningJobs = 2 })
	const jobs = 8
	errs := make(chan error, jobs)
	for i := range jobs {
		go func() {
			_, err := e.client.CreateTrainingJob(context.Background(), e.trainingInput(t, "job-"+string(rune('a'+i))))
			errs <- err
		}()
	}
	for range jobs {
		require.NoError(t, <-errs)
	}
	for i := range jobs {
		out := e.waitTraining(t, "job-"+string(rune('a'+i)))
		require.Equal(t, types.TrainingJobStatusCompleted, out.TrainingJobStatus, aws.ToString(out.FailureReason))
	}
	require.LessOrEqual(t, peak.Load(), int32(2))
	list, err := e.client.ListTrainingJobs(context.Background(), &sm.ListTrainingJobsInput{MaxResults: aws.Int32(100)})
	require.NoError(t, err)
	require.Len(t, list.TrainingJobSummaries, jobs)
}

func TestResetForgetsEverything(t *testing.T) {
	var cancelled atomic.Int32
	started := make(chan string, 1)
	e := newEnv(t, &fakeAlgorithm{train: blockingTrain(started, &cancelled)})
	ctx := context.Background()
	_, err := e.client.CreateTrainingJob(ctx, e.trainingInput(t, "running"))
	require.NoError(t, err)
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	<-started
	require.NoError(t, e.svc.Reset(ctx))
	require.Equal(t, int32(1), cancelled.Load())
	require.Empty(t, stateFiles(t, e.dir))

	jobs, err := e.client.ListTrainingJobs(ctx, &sm.ListTrainingJobsInput{})
	require.NoError(t, err)
	require.Empty(t, jobs.TrainingJobSummaries)
	groups, err := e.client.ListModelPackageGroups(ctx, &sm.ListModelPackageGroupsInput{})
	require.NoError(t, err)
	require.Empty(t, groups.ModelPackageGroupSummaryList)
	// The name is free again, and the service still runs jobs.
	_, err = e.client.CreateTrainingJob(ctx, e.trainingInput(t, "running"))
	require.NoError(t, err)
	<-started
}
