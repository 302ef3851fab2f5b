package sagemaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

// modelFromTraining trains a job and creates a model from its artifacts, as the training workflow does.
func (e *env) modelFromTraining(t *testing.T, name string) {
	t.Helper()
	out := e.train(t, name)
	_, err := e.client.CreateModel(context.Background(), &sm.CreateModelInput{
		ModelName:        aws.String(name),
		ExecutionRoleArn: aws.String(testRole),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(testImage), ModelDataUrl: out.ModelArtifacts.S3ModelArtifacts},
	})
	require.NoError(t, err)
}

func newTransformInput(name, model, prefix string) *sm.CreateTransformJobInput {
	return &sm.CreateTransformJobInput{
		TransformJobName: aws.String(name),
		ModelName:        aws.String(model),
		TransformInput: &types.TransformInput{
			DataSource:  &types.TransformDataSource{S3DataSource: &types.TransformS3DataSource{S3DataType: types.S3DataTypeS3Prefix, S3Uri: aws.String("s3://" + testBucket + "/" + prefix)}},
			ContentType: aws.String("text/csv"),
			SplitType:   types.SplitTypeLine,
		},
		TransformOutput:    &types.TransformOutput{S3OutputPath: aws.String("s3://" + testBucket + "/output-data/d1/run1"), Accept: aws.String("text/csv"), AssembleWith: types.AssemblyTypeLine},
		TransformResources: &types.TransformResources{InstanceType: types.TransformInstanceTypeMlC42xlarge, InstanceCount: aws.Int32(10)},
	}
}

func TestTransformJobCompletes(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	ctx := context.Background()
	e.modelFromTraining(t, "churn-1")
	e.put(t, "input-data/d1/holdout_data/holdout_data.csv", "a,1\n\nb,2\r\nc,3")
	e.put(t, "input-data/d1/holdout_data/more/part2.csv", "d,4\n")

	created, err := e.client.CreateTransformJob(ctx, newTransformInput("churn-1-infer", "churn-1", "input-data/d1/holdout_data"))
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:transform-job/churn-1-infer", aws.ToString(created.TransformJobArn))
	out := e.waitTransform(t, "churn-1-infer")
	require.Equal(t, types.TransformJobStatusCompleted, out.TransformJobStatus, aws.ToString(out.FailureReason))
	require.NotNil(t, out.TransformStartTime)
	require.True(t, out.TransformEndTime.After(*out.TransformStartTime))
	require.Equal(t, "churn-1", aws.ToString(out.ModelName))
	require.Equal(t, types.SplitTypeLine, out.TransformInput.SplitType)
	// Empty lines are not records: one prediction per non-empty line, in order.
	require.Equal(t, "3:a\n3:b\n3:c\n", string(e.get(t, "output-data/d1/run1/holdout_data.csv.out")))
	require.Equal(t, "3:d\n", string(e.get(t, "output-data/d1/run1/more/part2.csv.out")))

	list, err := e.client.ListTransformJobs(ctx, &sm.ListTransformJobsInput{StatusEquals: types.TransformJobStatusCompleted})
	require.NoError(t, err)
	require.Len(t, list.TransformJobSummaries, 1)
	require.Equal(t, "churn-1-infer", aws.ToString(list.TransformJobSummaries[0].TransformJobName))
}

func TestTransformJobEnds(t *testing.T) {
	tests := []struct {
		name       string
		predict    func(context.Context, string, string, string) error
		stop       bool
		wantStatus types.TransformJobStatus
		wantReason string
	}{
		{
			name:       "algorithm error",
			predict:    func(context.Context, string, string, string) error { return errors.New("feature count mismatch") },
			wantStatus: types.TransformJobStatusFailed,
			wantReason: "AlgorithmError: predict input-data/d1/holdout_data/holdout_data.csv: feature count mismatch",
		},
		{
			name: "too few predictions",
			predict: func(ctx context.Context, modelDir, in, out string) error {
				return echoPredict(ctx, modelDir, "/dev/null", out)
			},
			wantStatus: types.TransformJobStatusFailed,
			wantReason: "AlgorithmError: the model returned 0 predictions for the 2 records of s3://mdlc-bucket/input-data/d1/holdout_data/holdout_data.csv",
		},
		{name: "stop", stop: true, wantStatus: types.TransformJobStatusStopped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cancelled atomic.Int32
			started := make(chan struct{}, 1)
			predict := tc.predict
			if predict == nil {
				predict = func(ctx context.Context, _, _, _ string) error {
					started <- struct{}{}
					<-ctx.Done()
					cancelled.Add(1)
					return ctx.Err()
				}
			}
			e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: predict})
			ctx := context.Background()
			e.modelFromTraining(t, "churn-1")
			e.put(t, "input-data/d1/holdout_data/holdout_data.csv", "a,1\nb,2\n")
			_, err := e.client.CreateTransformJob(ctx, newTransformInput("infer", "churn-1", "input-data/d1/holdout_data"))
			require.NoError(t, err)
			if tc.stop {
				<-started
				_, err := e.client.StopTransformJob(ctx, &sm.StopTransformJobInput{TransformJobName: aws.String("infer")})
				require.NoError(t, err)
			}
			out := e.waitTransform(t, "infer")
			require.Equal(t, tc.wantStatus, out.TransformJobStatus)
			require.Equal(t, tc.wantReason, aws.ToString(out.FailureReason))
			if tc.stop {
				require.Equal(t, int32(1), cancelled.Load())
			}
			_, err = e.client.StopTransformJob(ctx, &sm.StopTransformJobInput{TransformJobName: aws.String("infer")})
			code, msg := apiCode(t, err)
			require.Equal(t, "ValidationException", code)
			require.Equal(t, "The request was rejected because the transform job is in status "+string(tc.wantStatus)+".", msg)
		})
	}
}
