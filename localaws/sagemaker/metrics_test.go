package sagemaker

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

// TestModelMetricsAreKeptAsAWSKeepsThem: a package's ModelMetrics, sent by the real SDK, come back from
// DescribeModelPackage as sent; a package without them has none.
func TestModelMetricsAreKeptAsAWSKeepsThem(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	ctx := context.Background()
	_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	metrics := &types.ModelMetrics{
		ModelQuality: &types.ModelQuality{Statistics: &types.MetricsSource{
			ContentType: aws.String("application/json"), S3Uri: aws.String("s3://" + testBucket + "/evaluation/2019-11-01/r/evaluation.json"),
		}},
		Bias: &types.Bias{Report: &types.MetricsSource{ContentType: aws.String("application/json"), S3Uri: aws.String("s3://" + testBucket + "/bias.json"),
			ContentDigest: aws.String("sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")}},
	}
	spec := &types.InferenceSpecification{Containers: []types.ModelPackageContainerDefinition{{Image: aws.String(testImage)}},
		SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"}}
	with, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"), InferenceSpecification: spec, ModelMetrics: metrics})
	require.NoError(t, err)
	without, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"), InferenceSpecification: spec})
	require.NoError(t, err)

	got, err := e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: with.ModelPackageArn})
	require.NoError(t, err)
	require.Equal(t, metrics.ModelQuality.Statistics, got.ModelMetrics.ModelQuality.Statistics)
	require.Equal(t, metrics.Bias.Report, got.ModelMetrics.Bias.Report)
	require.Nil(t, got.ModelMetrics.ModelDataQuality)
	got, err = e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: without.ModelPackageArn})
	require.NoError(t, err)
	require.Nil(t, got.ModelMetrics)
}

// TestBadModelMetricsAreRefused: what AWS refuses in a MetricsSource (sent raw: the SDKs check required
// members themselves) is a ValidationException naming the member, and no package is created.
func TestBadModelMetricsAreRefused(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	_, err := e.client.CreateModelPackageGroup(context.Background(), &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	for _, tc := range []struct{ name, metrics, want string }{
		{"missing content type", `{"ModelQuality":{"Statistics":{"S3Uri":"s3://b/e.json"}}}`,
			"Value null at 'modelMetrics.modelQuality.statistics.contentType' failed to satisfy constraint: Member must not be null"},
		{"missing S3 URI", `{"ModelQuality":{"Statistics":{"ContentType":"application/json"}}}`,
			"Value null at 'modelMetrics.modelQuality.statistics.s3Uri' failed to satisfy constraint: Member must not be null"},
		{"not an S3 URI", `{"ModelQuality":{"Statistics":{"ContentType":"application/json","S3Uri":"evaluation.json"}}}`,
			"at 'modelMetrics.modelQuality.statistics.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"},
		{"bad digest", `{"Explainability":{"Report":{"ContentType":"application/json","S3Uri":"s3://b/x.json","ContentDigest":"md5:00"}}}`,
			"at 'modelMetrics.explainability.report.contentDigest' failed to satisfy constraint: Member must satisfy regular expression pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.call(t, "CreateModelPackage", `{"ModelPackageGroupName":"churn","ModelMetrics":`+tc.metrics+`,
				"InferenceSpecification":{"Containers":[{"Image":"`+testImage+`"}]}}`)
			require.Equal(t, 400, code, out)
			require.Equal(t, "ValidationException", out["__type"], out)
			require.Contains(t, out["message"], tc.want)
		})
	}
	list, err := e.client.ListModelPackages(context.Background(), &sm.ListModelPackagesInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	require.Empty(t, list.ModelPackageSummaryList)
}
