package sagemaker

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

// nulls returns the paths of the null members of a decoded JSON answer.
func nulls(prefix string, v any) []string {
	var out []string
	switch v := v.(type) {
	case nil:
		out = append(out, prefix)
	case map[string]any:
		for k, val := range v {
			out = append(out, nulls(prefix+"."+k, val)...)
		}
	case []any:
		for i, val := range v {
			out = append(out, nulls(fmt.Sprintf("%s[%d]", prefix, i), val)...)
		}
	}
	return out
}

func TestAnswersHaveAWSShapes(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	ctx := context.Background()
	e.modelFromTraining(t, "shape")
	e.put(t, "input-data/d1/holdout_data/holdout_data.csv", "a,1\n")
	_, err := e.client.CreateTransformJob(ctx, newTransformInput("shape-infer", "shape", "input-data/d1/holdout_data"))
	require.NoError(t, err)
	e.waitTransform(t, "shape-infer")
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("shape")})
	require.NoError(t, err)

	t.Run("DescribeTrainingJob has OutputDataConfig.KmsKeyId", func(t *testing.T) {
		code, out := e.call(t, "DescribeTrainingJob", `{"TrainingJobName":"shape"}`)
		require.Equal(t, 200, code)
		odc := out["OutputDataConfig"].(map[string]any)
		require.Contains(t, odc, "KmsKeyId", "AWS answers KmsKeyId \"\" when none was given")
		require.Equal(t, "", odc["KmsKeyId"])
	})
	t.Run("DescribeTransformJob has no LastModifiedTime", func(t *testing.T) {
		code, out := e.call(t, "DescribeTransformJob", `{"TransformJobName":"shape-infer"}`)
		require.Equal(t, 200, code)
		require.NotContains(t, out, "LastModifiedTime")
		require.Contains(t, out, "TransformEndTime")
	})
	for _, op := range []string{"ListTrainingJobs", "ListTransformJobs", "ListModels", "ListModelPackageGroups", "ListModelPackages"} {
		t.Run(op+" sends no null members", func(t *testing.T) {
			body := "{}"
			if op == "ListModelPackages" {
				body = `{"ModelPackageGroupName":"shape"}`
			}
			code, out := e.call(t, op, body)
			require.Equal(t, 200, code)
			require.Empty(t, nulls(op, out))
			require.NotContains(t, out, "NextToken")
		})
	}
	for op, body := range map[string]string{
		"DescribeTrainingJob":       `{"TrainingJobName":"shape"}`,
		"DescribeTransformJob":      `{"TransformJobName":"shape-infer"}`,
		"DescribeModel":             `{"ModelName":"shape"}`,
		"DescribeModelPackageGroup": `{"ModelPackageGroupName":"shape"}`,
		"Search":                    `{"Resource":"ModelPackageGroup"}`,
	} {
		t.Run(op+" sends no null members", func(t *testing.T) {
			code, out := e.call(t, op, body)
			require.Equal(t, 200, code, out)
			require.Empty(t, nulls(op, out))
		})
	}
	t.Run("DescribeModelPackage echoes no null a client sent", func(t *testing.T) {
		code, out := e.call(t, "CreateModelPackage", `{"ModelPackageGroupName":"shape","MetadataProperties":null,"ModelMetrics":null,
			"InferenceSpecification":{"Containers":[{"Image":"`+testImage+`"}]}}`)
		require.Equal(t, 200, code, out)
		code, out = e.call(t, "DescribeModelPackage", `{"ModelPackageName":"`+out["ModelPackageArn"].(string)+`"}`)
		require.Equal(t, 200, code, out)
		require.Empty(t, nulls("DescribeModelPackage", out))
	})
	t.Run("ListTags sends no null members", func(t *testing.T) {
		code, out := e.call(t, "ListTags", `{"ResourceArn":"arn:aws:sagemaker:us-east-1:123456789012:training-job/shape"}`)
		require.Equal(t, 200, code)
		require.Empty(t, nulls("ListTags", out))
	})
}

func TestListTagsMaxResults(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	arn := e.train(t, "tagged").TrainingJobArn
	for _, n := range []int32{50, 100, 101, 1000} {
		_, err := e.client.ListTags(ctx, &sm.ListTagsInput{ResourceArn: arn, MaxResults: aws.Int32(n)})
		require.NoError(t, err, "MaxResults %d: AWS's range has a minimum of 50 and no maximum", n)
	}
	_, err := e.client.ListTags(ctx, &sm.ListTagsInput{ResourceArn: arn, MaxResults: aws.Int32(49)})
	code, msg := apiCode(t, err)
	require.Equal(t, "ValidationException", code)
	require.Contains(t, msg, "greater than or equal to 50")
}

func TestEmptyApprovalStatusIsRejected(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	code, out := e.call(t, "CreateModelPackage", `{"ModelPackageGroupName":"churn","ModelApprovalStatus":"",
		"InferenceSpecification":{"Containers":[{"Image":"`+testImage+`","ModelDataUrl":"s3://`+testBucket+`/m.tar.gz"}],
		"SupportedContentTypes":["text/csv"],"SupportedResponseMIMETypes":["text/csv"]}}`)
	require.Equal(t, 400, code)
	require.Equal(t, "ValidationException", out["__type"])
	require.Equal(t, "1 validation error detected: Value '' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]", out["message"])
	list, err := e.client.ListModelPackages(ctx, &sm.ListModelPackagesInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	require.Empty(t, list.ModelPackageSummaryList, "the rejected request created nothing")

	code, out = e.call(t, "UpdateModelPackage", `{"ModelPackageArn":"arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1","ModelApprovalStatus":""}`)
	require.Equal(t, 400, code)
	require.Contains(t, out["message"], "Value '' at 'modelApprovalStatus'")

	// Absent, the status defaults to PendingManualApproval, as in AWS.
	created, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"),
		InferenceSpecification: &types.InferenceSpecification{Containers: []types.ModelPackageContainerDefinition{{Image: aws.String(testImage)}}}})
	require.NoError(t, err)
	d, err := e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: created.ModelPackageArn})
	require.NoError(t, err)
	require.Equal(t, types.ModelApprovalStatusPendingManualApproval, d.ModelApprovalStatus)
}

func TestNamesAreAtMost63Characters(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	hyphens := strings.TrimSuffix(strings.Repeat("a-", 41), "-") // 81 characters, 41 letters: the pattern alone passes it
	require.Len(t, hyphens, 81)
	long64 := strings.Repeat("ab-", 21) + "a" // 64 characters
	max63 := strings.Repeat("ab-", 20) + "abc"
	require.Len(t, long64, 64)
	require.Len(t, max63, 63)
	want := func(t *testing.T, err error, path string) {
		t.Helper()
		code, msg := apiCode(t, err)
		require.Equal(t, "ValidationException", code)
		require.Contains(t, msg, "at '"+path+"' failed to satisfy constraint: Member must have length less than or equal to 63")
	}
	for _, name := range []string{hyphens, long64} {
		_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(name)})
		want(t, err, "modelPackageGroupName")
		_, err = e.client.CreateTrainingJob(ctx, e.trainingInput(t, name))
		want(t, err, "trainingJobName")
		_, err = e.client.CreateModel(ctx, &sm.CreateModelInput{ModelName: aws.String(name),
			PrimaryContainer: &types.ContainerDefinition{Image: aws.String(testImage)}})
		want(t, err, "modelName")
		_, err = e.client.CreateTransformJob(ctx, newTransformInput(name, "m", "input-data/d1/train"))
		want(t, err, "transformJobName")
	}
	require.Empty(t, stateFiles(t, e.dir), "a rejected request left files behind")
	_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(max63)})
	require.NoError(t, err, "63 characters is the maximum, inclusive")
}

func TestLongBadValuesAreQuotedShort(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	name := strings.Repeat("x_", 50000)
	_, err := e.client.CreateModelPackageGroup(context.Background(), &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(name)})
	_, msg := apiCode(t, err)
	require.Less(t, len(msg), 1000, "the message quotes a prefix of the value, not all of it")
	require.Contains(t, msg, "(100000 bytes)")
}
