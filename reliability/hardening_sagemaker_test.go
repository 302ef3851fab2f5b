package reliability_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/stack"
)

// maxModelBytes is the unpacking limit this test gives localaws (--max-model-bytes), small enough that a
// decompression bomb stays cheap to build.
const maxModelBytes = 8 << 20

// sleeperImage is mapped to a program that trains until it is stopped.
const sleeperImage = "example.com/sleeper:1"

// TestSageMakerHardening meets, as a user would through the listener (SDK clients, the AWS CLI, raw HTTP),
// what localaws SageMaker does with a failing real XGBoost job, infinite metrics, a decompression bomb, a
// corrupt state file found at start-up, long names, an empty approval status, and the answer shapes other
// AWS clients read (KmsKeyId, ListTags page sizes, Search, absent members).
func TestSageMakerHardening(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	sleeper := filepath.Join(dir, "sleeper.sh") // an algorithm that trains until it is stopped
	require.NoError(t, os.WriteFile(sleeper, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755))
	st, err := stack.Start(ctx, stack.Options{Dir: dir, LocalAWSArgs: []string{
		"--max-model-bytes", "8388608", "--image-command", sleeperImage + "=" + sleeper}})
	require.NoError(t, err)
	t.Cleanup(func() {
		st.Stop()
		if t.Failed() {
			t.Logf("--- localaws log (tail)\n%s", tail(st.Log("localaws"), 4000))
		}
	})
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	endpoint := aws.String(st.LocalAWS)
	s3c := s3.New(s3.Options{BaseEndpoint: endpoint, Region: "us-east-1", UsePathStyle: true, Credentials: creds})
	smc := sagemaker.New(sagemaker.Options{BaseEndpoint: endpoint, Region: "us-east-1", Credentials: creds})
	jobsDir := filepath.Join(dir, "localaws", "sagemaker", "jobs")
	stateDir := filepath.Join(dir, "localaws", "sagemaker", "state")

	const bucket = "hardening"
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	put := func(t *testing.T, key string, body []byte) {
		t.Helper()
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
	var train, validation strings.Builder
	for i := range 400 {
		label, x := i%2, float64(i%7)/7
		if label == 1 {
			x += 0.5
		}
		row := fmt.Sprintf("%d,%.4f,1\n", label, x)
		if i%4 == 0 {
			validation.WriteString(row)
		} else {
			train.WriteString(row)
		}
	}
	put(t, "data/train/train.csv", []byte(train.String()))
	put(t, "data/validation/validation.csv", []byte(validation.String()))

	trainingJob := func(t *testing.T, name string, hp map[string]string, image ...string) {
		t.Helper()
		channel := func(name string) smtypes.Channel {
			return smtypes.Channel{ChannelName: aws.String(name), ContentType: aws.String("text/csv"),
				DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{S3DataType: smtypes.S3DataTypeS3Prefix,
					S3Uri: aws.String("s3://" + bucket + "/data/" + name), S3DataDistributionType: smtypes.S3DataDistributionFullyReplicated}}}
		}
		img := activities.DefaultTrainingImage
		if len(image) > 0 {
			img = image[0]
		}
		_, err := smc.CreateTrainingJob(ctx, &sagemaker.CreateTrainingJobInput{
			TrainingJobName:        aws.String(name),
			AlgorithmSpecification: &smtypes.AlgorithmSpecification{TrainingImage: aws.String(img), TrainingInputMode: smtypes.TrainingInputModeFile},
			RoleArn:                aws.String("arn:aws:iam::000000000000:role/hardening"),
			HyperParameters:        hp,
			InputDataConfig:        []smtypes.Channel{channel("train"), channel("validation")},
			OutputDataConfig:       &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://" + bucket + "/model")},
			ResourceConfig:         &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(10)},
			StoppingCondition:      &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(600)},
		})
		require.NoError(t, err)
	}
	waitTraining := func(t *testing.T, name string) *sagemaker.DescribeTrainingJobOutput {
		t.Helper()
		for {
			out, err := smc.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
			require.NoError(t, err, "DescribeTrainingJob %s must answer", name)
			switch out.TrainingJobStatus {
			case smtypes.TrainingJobStatusCompleted, smtypes.TrainingJobStatusFailed, smtypes.TrainingJobStatusStopped:
				return out
			}
			require.NoError(t, ctx.Err(), "training job %s still %s", name, out.TrainingJobStatus)
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitTransform := func(t *testing.T, name string) *sagemaker.DescribeTransformJobOutput {
		t.Helper()
		for {
			out, err := smc.DescribeTransformJob(ctx, &sagemaker.DescribeTransformJobInput{TransformJobName: aws.String(name)})
			require.NoError(t, err)
			switch out.TransformJobStatus {
			case smtypes.TransformJobStatusCompleted, smtypes.TransformJobStatusFailed, smtypes.TransformJobStatusStopped:
				return out
			}
			require.NoError(t, ctx.Err(), "transform job %s still %s", name, out.TransformJobStatus)
			time.Sleep(200 * time.Millisecond)
		}
	}
	base := func(extra map[string]string) map[string]string {
		hp := map[string]string{"objective": "binary:logistic", "num_round": "5", "max_depth": "2"}
		for k, v := range extra {
			hp[k] = v
		}
		return hp
	}

	t.Run("a failing XGBoost job's reason has one prefix", func(t *testing.T) {
		trainingJob(t, "bad-eta", base(map[string]string{"eta": "1.5"}))
		out := waitTraining(t, "bad-eta")
		require.Equal(t, smtypes.TrainingJobStatusFailed, out.TrainingJobStatus)
		reason := aws.ToString(out.FailureReason)
		require.True(t, strings.HasPrefix(reason, "ClientError: "), reason)
		require.Equal(t, 1, strings.Count(reason, "Error: "), "one prefix, not two: %s", reason)
		require.Contains(t, reason, "eta")
	})

	t.Run("an infinite metric leaves the job describable, completed and saved", func(t *testing.T) {
		trainingJob(t, "mape", base(map[string]string{"eval_metric": "mape"}))
		out := waitTraining(t, "mape")
		require.Equal(t, smtypes.TrainingJobStatusCompleted, out.TrainingJobStatus, aws.ToString(out.FailureReason))
		for _, m := range out.FinalMetricDataList {
			require.NotContains(t, aws.ToString(m.MetricName), "mape", "an infinite metric is left out, as SageMaker never captures it")
		}
		logs, err := os.ReadFile(filepath.Join(jobsDir, "training-jobs", "mape", "algorithm.log"))
		require.NoError(t, err)
		require.Contains(t, string(logs), "left out of FinalMetricDataList")
		list, err := smc.ListTrainingJobs(ctx, &sagemaker.ListTrainingJobsInput{NameContains: aws.String("mape")})
		require.NoError(t, err)
		require.Len(t, list.TrainingJobSummaries, 1)
		require.Equal(t, smtypes.TrainingJobStatusCompleted, list.TrainingJobSummaries[0].TrainingJobStatus)
		var saved struct {
			Resource struct{ TrainingJobStatus string }
		}
		b, err := os.ReadFile(filepath.Join(stateDir, "training-jobs", "mape.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &saved))
		require.Equal(t, "Completed", saved.Resource.TrainingJobStatus, "the state file says what Describe says")
	})

	t.Run("an ended job keeps its log, not its working copies", func(t *testing.T) {
		root := filepath.Join(jobsDir, "training-jobs", "mape")
		require.FileExists(t, filepath.Join(root, "algorithm.log"))
		for _, p := range []string{"input/data", "model", "output/model.tar.gz"} {
			_, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
			require.ErrorIs(t, err, os.ErrNotExist, "%s is deleted when the job ends", p)
		}
		require.FileExists(t, filepath.Join(jobsDir, "training-jobs", "bad-eta", "output", "failure"))
	})

	t.Run("a decompression bomb fails the transform job and leaves nothing", func(t *testing.T) {
		put(t, "bomb/model.tar.gz", bomb(t, 4*maxModelBytes))
		put(t, "holdout/holdout.csv", []byte("0.5,1\n"))
		_, err := smc.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("bomb"),
			ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/hardening"),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(activities.DefaultTrainingImage), ModelDataUrl: aws.String("s3://" + bucket + "/bomb/model.tar.gz")}})
		require.NoError(t, err)
		_, err = smc.CreateTransformJob(ctx, &sagemaker.CreateTransformJobInput{
			TransformJobName: aws.String("bomb"), ModelName: aws.String("bomb"),
			TransformInput: &smtypes.TransformInput{ContentType: aws.String("text/csv"), SplitType: smtypes.SplitTypeLine,
				DataSource: &smtypes.TransformDataSource{S3DataSource: &smtypes.TransformS3DataSource{S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://" + bucket + "/holdout")}}},
			TransformOutput:    &smtypes.TransformOutput{S3OutputPath: aws.String("s3://" + bucket + "/out")},
			TransformResources: &smtypes.TransformResources{InstanceType: smtypes.TransformInstanceTypeMlM5Large, InstanceCount: aws.Int32(1)},
		})
		require.NoError(t, err)
		out := waitTransform(t, "bomb")
		require.Equal(t, smtypes.TransformJobStatusFailed, out.TransformJobStatus)
		reason := aws.ToString(out.FailureReason)
		require.True(t, strings.HasPrefix(reason, "ClientError: Could not unpack model data"), reason)
		require.Contains(t, reason, "exceeds the limit of 8388608 bytes")
		_, err = os.Stat(filepath.Join(jobsDir, "transform-jobs", "bomb", "model"))
		require.ErrorIs(t, err, os.ErrNotExist, "the partly unpacked model is removed")
		put(t, "after-the-bomb", []byte("S3 still takes objects"))
	})

	t.Run("names longer than 63 characters are refused", func(t *testing.T) {
		hyphens := strings.TrimSuffix(strings.Repeat("a-", 41), "-")
		_, err := smc.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(hyphens)})
		requireAPIError(t, err, "ValidationException", "Member must have length less than or equal to 63")
		_, err = smc.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(strings.Repeat("m-", 32) + "m"),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(activities.DefaultTrainingImage)}})
		requireAPIError(t, err, "ValidationException", "at 'modelName' failed to satisfy constraint: Member must have length less than or equal to 63")
	})

	_, err = smc.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("registry")})
	require.NoError(t, err)
	t.Run("AWS CLI: an empty approval status is refused as SageMaker refuses it", func(t *testing.T) {
		out, err := runAWSCLI(ctx, st.LocalAWS, "sagemaker", "create-model-package", "--model-package-group-name", "registry", "--model-approval-status", "",
			"--inference-specification", `{"Containers":[{"Image":"`+activities.DefaultTrainingImage+`"}],"SupportedContentTypes":["text/csv"],"SupportedResponseMIMETypes":["text/csv"]}`)
		require.Error(t, err, out)
		require.Contains(t, out, "ValidationException")
		require.Contains(t, out, "Value '' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set")
		list, err := smc.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("registry")})
		require.NoError(t, err)
		require.Empty(t, list.ModelPackageSummaryList)
	})
	_, err = smc.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("registry"),
		ModelApprovalStatus:    smtypes.ModelApprovalStatusApproved,
		InferenceSpecification: &smtypes.InferenceSpecification{Containers: []smtypes.ModelPackageContainerDefinition{{Image: aws.String(activities.DefaultTrainingImage)}}}})
	require.NoError(t, err)

	t.Run("AWS CLI: answer shapes", func(t *testing.T) {
		var job map[string]any
		out, err := runAWSCLI(ctx, st.LocalAWS, "sagemaker", "describe-training-job", "--training-job-name", "mape")
		require.NoError(t, err, out)
		require.NoError(t, json.Unmarshal([]byte(out), &job))
		odc := job["OutputDataConfig"].(map[string]any)
		require.Contains(t, odc, "KmsKeyId", "the SageMaker Python SDK's Estimator.attach reads it")

		var tj map[string]any
		out, err = runAWSCLI(ctx, st.LocalAWS, "sagemaker", "describe-transform-job", "--transform-job-name", "bomb")
		require.NoError(t, err, out)
		require.NoError(t, json.Unmarshal([]byte(out), &tj))
		require.NotContains(t, tj, "LastModifiedTime")

		out, err = runAWSCLI(ctx, st.LocalAWS, "sagemaker", "list-tags", "--resource-arn", job["TrainingJobArn"].(string), "--page-size", "200")
		require.NoError(t, err, "MaxResults 200 is in AWS's range (minimum 50, no maximum): %s", out)

		var search struct {
			Results []struct{ ModelPackage map[string]any }
		}
		out, err = runAWSCLI(ctx, st.LocalAWS, "sagemaker", "search", "--resource", "ModelPackage",
			"--search-expression", `{"Filters":[{"Name":"ModelPackageGroupName","Operator":"Equals","Value":"registry"},{"Name":"ModelApprovalStatus","Operator":"Equals","Value":"Approved"}]}`)
		require.NoError(t, err, out)
		require.NoError(t, json.Unmarshal([]byte(out), &search))
		require.Len(t, search.Results, 1)
		require.Equal(t, "registry", search.Results[0].ModelPackage["ModelPackageGroupName"])
		out, err = runAWSCLI(ctx, st.LocalAWS, "sagemaker", "search", "--resource", "ModelCard",
			"--search-expression", `{"Filters":[{"Name":"ModelId","Operator":"Equals","Value":"arn:aws:sagemaker:us-east-1:000000000000:model/bomb"}]}`)
		require.NoError(t, err, out)
		var cards struct{ Results []any }
		require.NoError(t, json.Unmarshal([]byte(out), &cards))
		require.NotNil(t, cards.Results, out)
		require.Empty(t, cards.Results, "localaws has no model cards: %s", out)

		var packages map[string]any
		out, err = runAWSCLI(ctx, st.LocalAWS, "sagemaker", "list-model-packages")
		require.NoError(t, err, out)
		require.NoError(t, json.Unmarshal([]byte(out), &packages))
		require.Empty(t, packages["ModelPackageSummaryList"], "neither group nor type: Unversioned, AWS's default")
	})

	t.Run("List answers omit absent members", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.LocalAWS, strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "SageMaker.ListTrainingJobs")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		require.NotContains(t, string(b), "null")
	})

	t.Run("a stop that cannot be saved changes nothing", func(t *testing.T) {
		trainingJob(t, "sleeper", nil, sleeperImage)
		for {
			out, err := smc.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("sleeper")})
			require.NoError(t, err)
			if out.SecondaryStatus == smtypes.SecondaryStatusTraining {
				break
			}
			require.Equal(t, smtypes.TrainingJobStatusInProgress, out.TrainingJobStatus, aws.ToString(out.FailureReason))
			require.NoError(t, ctx.Err())
			time.Sleep(100 * time.Millisecond)
		}
		// The state directory cannot be written: a plain file stands where it should be.
		jobsState := filepath.Join(stateDir, "training-jobs")
		require.NoError(t, os.Rename(jobsState, jobsState+".moved"))
		require.NoError(t, os.WriteFile(jobsState, nil, 0o644))
		_, err := smc.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("sleeper")})
		requireAPIError(t, err, "InternalFailure", "training-jobs")
		out, err := smc.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("sleeper")})
		require.NoError(t, err)
		require.Equal(t, smtypes.TrainingJobStatusInProgress, out.TrainingJobStatus, "what was not saved is not answered")
		require.NoError(t, os.Remove(jobsState))
		require.NoError(t, os.Rename(jobsState+".moved", jobsState))
		_, err = smc.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("sleeper")})
		require.NoError(t, err)
		require.Equal(t, smtypes.TrainingJobStatusStopped, waitTraining(t, "sleeper").TrainingJobStatus)
	})

	t.Run("a corrupt state file does not keep localaws from starting", func(t *testing.T) {
		require.NoError(t, st.KillLocalAWS())
		bad := filepath.Join(stateDir, "training-jobs", "bad-eta.json")
		b, err := os.ReadFile(bad)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(bad, b[:len(b)/3], 0o644))
		require.NoError(t, st.StartLocalAWS(ctx))
		out, err := smc.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("mape")})
		require.NoError(t, err)
		require.Equal(t, smtypes.TrainingJobStatusCompleted, out.TrainingJobStatus, "everything else loads")
		_, err = smc.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("registry")})
		require.NoError(t, err)
		require.FileExists(t, bad+".corrupt")
		require.Contains(t, st.Log("localaws"), "sagemaker state file is corrupt")
	})
}

// bomb is a model.tar.gz of one file of size zeros: a few kilobytes per megabyte unpacked.
func bomb(t *testing.T, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	tw := tar.NewWriter(zw)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "xgboost-model", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}))
	_, err = io.Copy(tw, io.LimitReader(zeroReader{}, size))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
