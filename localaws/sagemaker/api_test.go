package sagemaker

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"
)

// validTraining is a CreateTrainingJob body that passes validation; cases edit it.
const validTraining = `{"TrainingJobName":"job-1","RoleArn":"` + testRole + `",
 "AlgorithmSpecification":{"TrainingImage":"` + testImage + `","TrainingInputMode":"File"},
 "InputDataConfig":[{"ChannelName":"train","DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://mdlc-bucket/input-data/d1/train"}}}],
 "OutputDataConfig":{"S3OutputPath":"s3://mdlc-bucket/model"},
 "ResourceConfig":{"InstanceType":"ml.m5.4xlarge","InstanceCount":1,"VolumeSizeInGB":50},
 "StoppingCondition":{"MaxRuntimeInSeconds":3600}}`

func TestBadRequestsCreateNothing(t *testing.T) {
	tests := []struct {
		name, op, body string
		wantStatus     int
		wantCode       string
		wantMessage    string
	}{
		{"unknown operation", "CreateEndpoint", `{}`, 400, "UnknownOperationException", `Operation "SageMaker.CreateEndpoint" is not supported by localaws SageMaker`},
		{"no target", "", `{}`, 400, "UnknownOperationException", `Operation "" is not supported by localaws SageMaker`},
		{"malformed JSON", "CreateTrainingJob", `{"TrainingJobName":`, 400, "SerializationException", "The request body could not be read: unexpected end of JSON input"},
		{"wrong JSON type", "CreateTrainingJob", `{"TrainingJobName":7}`, 400, "SerializationException", "The request body could not be read: json: cannot unmarshal number into Go struct field createTrainingJobInput.TrainingJobName of type string"},
		{"bad job name", "CreateTrainingJob", strings.Replace(validTraining, `"job-1"`, `"job_1"`, 1), 400, "ValidationException",
			"1 validation error detected: Value 'job_1' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"},
		{"missing role", "CreateTrainingJob", strings.Replace(validTraining, `"RoleArn":"`+testRole+`",`, "", 1), 400, "ValidationException",
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"role not an ARN", "CreateTrainingJob", strings.Replace(validTraining, testRole, "my-role-that-is-long-enough", 1), 400, "ValidationException",
			"1 validation error detected: Value 'my-role-that-is-long-enough' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: " + roleArnPattern},
		{"bad input mode", "CreateTrainingJob", strings.Replace(validTraining, `"TrainingInputMode":"File"`, `"TrainingInputMode":"Folder"`, 1), 400, "ValidationException",
			"1 validation error detected: Value 'Folder' at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]"},
		{"instance count zero and runtime too long", "CreateTrainingJob",
			strings.NewReplacer(`"InstanceCount":1`, `"InstanceCount":0`, `"MaxRuntimeInSeconds":3600`, `"MaxRuntimeInSeconds":9999999`).Replace(validTraining), 400, "ValidationException",
			"2 validation errors detected: Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '9999999' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 2419200"},
		{"manifest file", "CreateTrainingJob", strings.Replace(validTraining, `"S3DataType":"S3Prefix"`, `"S3DataType":"ManifestFile"`, 1), 400, "ValidationException",
			"localaws does not support S3DataType ManifestFile (channel train); use S3Prefix"},
		{"empty input prefix", "CreateTrainingJob", strings.Replace(validTraining, "input-data/d1/train", "input-data/none/train", 1), 400, "ValidationException",
			`No S3 objects found under S3 URL "s3://mdlc-bucket/input-data/none/train" given in input data source. Please ensure that the bucket exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role "` + testRole + `" has "s3:ListBucket" permissions on bucket "mdlc-bucket".`},
		{"missing bucket", "CreateTrainingJob", strings.Replace(validTraining, "s3://mdlc-bucket/input-data", "s3://no-bucket/input-data", 1), 400, "ValidationException",
			`No S3 objects found under S3 URL "s3://no-bucket/input-data/d1/train" given in input data source. Please ensure that the bucket exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role "` + testRole + `" has "s3:ListBucket" permissions on bucket "no-bucket".`},
		{"describe missing job", "DescribeTrainingJob", `{"TrainingJobName":"nope"}`, 400, "ValidationException", "Requested resource not found."},
		{"stop missing job", "StopTrainingJob", `{"TrainingJobName":"nope"}`, 400, "ValidationException", "Requested resource not found."},
		{"model data missing", "CreateModel", `{"ModelName":"m1","PrimaryContainer":{"Image":"` + testImage + `","ModelDataUrl":"s3://mdlc-bucket/model/none.tar.gz"}}`, 400, "ValidationException",
			"Could not find model data at s3://mdlc-bucket/model/none.tar.gz."},
		{"model without container", "CreateModel", `{"ModelName":"m1"}`, 400, "ValidationException", "Either PrimaryContainer or Containers must be specified."},
		{"describe missing model", "DescribeModel", `{"ModelName":"m1"}`, 400, "ValidationException", `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m1".`},
		{"transform with unknown model", "CreateTransformJob", `{"TransformJobName":"t1","ModelName":"m1",
		  "TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://mdlc-bucket/input-data/d1/train"}},"SplitType":"Line"},
		  "TransformOutput":{"S3OutputPath":"s3://mdlc-bucket/out"},"TransformResources":{"InstanceType":"ml.c4.2xlarge","InstanceCount":1}}`, 400, "ValidationException",
			`Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m1".`},
		{"transform split type", "CreateTransformJob", `{"TransformJobName":"t1","ModelName":"m1",
		  "TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://mdlc-bucket/input-data/d1/train"}},"SplitType":"Lines"},
		  "TransformOutput":{"S3OutputPath":"s3://mdlc-bucket/out"},"TransformResources":{"InstanceType":"ml.c4.2xlarge","InstanceCount":0}}`, 400, "ValidationException",
			"2 validation errors detected: Value 'Lines' at 'transformInput.splitType' failed to satisfy constraint: Member must satisfy enum value set: [None, Line, RecordIO, TFRecord]; " +
				"Value '0' at 'transformResources.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"describe missing transform", "DescribeTransformJob", `{"TransformJobName":"t1"}`, 400, "ValidationException", "Could not find requested job with name t1"},
		{"package into missing group", "CreateModelPackage", `{"ModelPackageGroupName":"churn","InferenceSpecification":{"Containers":[{"Image":"` + testImage + `"}],"SupportedContentTypes":["text/csv"],"SupportedResponseMIMETypes":["text/csv"]}}`, 400, "ValidationException",
			"ModelPackageGroup churn does not exist."},
		{"bad approval status", "CreateModelPackage", `{"ModelPackageGroupName":"churn","ModelApprovalStatus":"Yes"}`, 400, "ValidationException",
			"1 validation error detected: Value 'Yes' at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"},
		{"describe missing package", "DescribeModelPackage", `{"ModelPackageName":"arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"}`, 400, "ValidationException",
			"ModelPackage arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1 does not exist."},
		{"describe missing group", "DescribeModelPackageGroup", `{"ModelPackageGroupName":"churn"}`, 400, "ValidationException", "ModelPackageGroup churn does not exist."},
		{"list page too large", "ListTrainingJobs", `{"MaxResults":101}`, 400, "ValidationException",
			"1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"bad next token", "ListModels", `{"NextToken":"garbage"}`, 400, "ValidationException", `Invalid pagination token "garbage"`},
		{"reserved tag", "CreateModelPackageGroup", `{"ModelPackageGroupName":"churn","Tags":[{"Key":"aws:owner","Value":"x"}]}`, 400, "ValidationException",
			"Tag keys beginning with 'aws:' are reserved for system use: aws:owner"},
		{"tags on missing resource", "AddTags", `{"ResourceArn":"arn:aws:sagemaker:us-east-1:123456789012:model/m1","Tags":[{"Key":"a","Value":"b"}]}`, 400, "ValidationException",
			"Resource arn:aws:sagemaker:us-east-1:123456789012:model/m1 does not exist."},
	}
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	e.put(t, "input-data/d1/train/train.csv", "1,2\n")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.call(t, tc.op, tc.body)
			require.Equal(t, tc.wantStatus, status)
			require.Equal(t, tc.wantCode, body["__type"])
			require.Equal(t, tc.wantMessage, body["message"])
		})
	}
	require.Empty(t, stateFiles(t, e.dir), "a rejected request left files behind")
	ctx := context.Background()
	jobs, err := e.client.ListTrainingJobs(ctx, &sm.ListTrainingJobsInput{})
	require.NoError(t, err)
	require.Empty(t, jobs.TrainingJobSummaries)
	transforms, err := e.client.ListTransformJobs(ctx, &sm.ListTransformJobsInput{})
	require.NoError(t, err)
	require.Empty(t, transforms.TransformJobSummaries)
	models, err := e.client.ListModels(ctx, &sm.ListModelsInput{})
	require.NoError(t, err)
	require.Empty(t, models.Models)
	packages, err := e.client.ListModelPackages(ctx, &sm.ListModelPackagesInput{})
	require.NoError(t, err)
	require.Empty(t, packages.ModelPackageSummaryList)
}

func TestDuplicateNames(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	ctx := context.Background()
	e.modelFromTraining(t, "churn-1")

	_, err := e.client.CreateTrainingJob(ctx, e.trainingInput(t, "CHURN-1"))
	var inUse *types.ResourceInUse
	require.ErrorAs(t, err, &inUse)
	require.Equal(t, "Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1)", inUse.ErrorMessage())

	_, err = e.client.CreateModel(ctx, &sm.CreateModelInput{ModelName: aws.String("churn-1"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String(testImage)}})
	code, msg := apiCode(t, err)
	require.Equal(t, "ValidationException", code)
	require.Equal(t, `Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/churn-1".`, msg)

	e.put(t, "holdout/x.csv", "a\n")
	_, err = e.client.CreateTransformJob(ctx, newTransformInput("t1", "churn-1", "holdout"))
	require.NoError(t, err)
	_, err = e.client.CreateTransformJob(ctx, newTransformInput("t1", "churn-1", "holdout"))
	require.ErrorAs(t, err, &inUse)
	e.waitTransform(t, "t1")

	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	code, msg = apiCode(t, err)
	require.Equal(t, "ValidationException", code)
	require.Equal(t, "Model Package Group already exists: arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn", msg)
}

func TestModels(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	e.modelFromTraining(t, "churn-1")
	got, err := e.client.DescribeModel(ctx, &sm.DescribeModelInput{ModelName: aws.String("churn-1")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model/churn-1", aws.ToString(got.ModelArn))
	require.Equal(t, testImage, aws.ToString(got.PrimaryContainer.Image))
	require.Equal(t, "s3://mdlc-bucket/model/d1/churn-1/output/model.tar.gz", aws.ToString(got.PrimaryContainer.ModelDataUrl))
	require.Equal(t, testRole, aws.ToString(got.ExecutionRoleArn))

	_, err = e.client.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("churn-1")})
	require.NoError(t, err)
	_, err = e.client.DescribeModel(ctx, &sm.DescribeModelInput{ModelName: aws.String("churn-1")})
	code, _ := apiCode(t, err)
	require.Equal(t, "ValidationException", code)
	_, err = e.client.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("churn-1")})
	code, _ = apiCode(t, err)
	require.Equal(t, "ValidationException", code)
}

func TestListTrainingJobs(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	names := []string{"b-churn", "a-churn", "c-fraud", "d-churn"}
	var created []time.Time
	for _, n := range names {
		out := e.train(t, n)
		created = append(created, *out.CreationTime)
	}
	_, err := e.client.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("a-churn")})
	require.Error(t, err)

	list := func(in *sm.ListTrainingJobsInput) []string {
		t.Helper()
		var got []string
		p := sm.NewListTrainingJobsPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.TrainingJobSummaries), int(aws.ToInt32(in.MaxResults)))
			for _, s := range page.TrainingJobSummaries {
				got = append(got, aws.ToString(s.TrainingJobName))
			}
		}
		return got
	}
	tests := []struct {
		name string
		in   sm.ListTrainingJobsInput
		want []string
	}{
		{"default order is creation ascending", sm.ListTrainingJobsInput{}, names},
		{"name descending", sm.ListTrainingJobsInput{SortBy: types.SortByName, SortOrder: types.SortOrderDescending}, []string{"d-churn", "c-fraud", "b-churn", "a-churn"}},
		{"name contains", sm.ListTrainingJobsInput{NameContains: aws.String("CHURN")}, []string{"b-churn", "a-churn", "d-churn"}},
		{"status", sm.ListTrainingJobsInput{StatusEquals: types.TrainingJobStatusFailed}, nil},
		{"created after", sm.ListTrainingJobsInput{CreationTimeAfter: aws.Time(created[1])}, []string{"c-fraud", "d-churn"}},
		{"created before", sm.ListTrainingJobsInput{CreationTimeBefore: aws.Time(created[1])}, []string{"b-churn"}},
	}
	for _, tc := range tests {
		for _, size := range []int32{1, 3, 100} {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				in.MaxResults = aws.Int32(size)
				require.Equal(t, tc.want, list(&in))
			})
		}
	}
}

func TestModelRegistry(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	group, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn"), ModelPackageGroupDescription: aws.String("churn models")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn", aws.ToString(group.ModelPackageGroupArn))
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("fraud")})
	require.NoError(t, err)

	register := func(group string, status types.ModelApprovalStatus, model string) string {
		t.Helper()
		out, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{
			ModelPackageGroupName: aws.String(group),
			ModelApprovalStatus:   status,
			InferenceSpecification: &types.InferenceSpecification{
				Containers:            []types.ModelPackageContainerDefinition{{Image: aws.String(testImage), ModelDataUrl: aws.String("s3://mdlc-bucket/model/" + model + ".tar.gz")}},
				SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"},
			},
			CustomerMetadataProperties: map[string]string{"SageMakerModelName": model},
		})
		require.NoError(t, err)
		return aws.ToString(out.ModelPackageArn)
	}
	arns := []string{
		register("churn", "", "m1"),
		register("churn", types.ModelApprovalStatusApproved, "m2"),
		register("fraud", types.ModelApprovalStatusApproved, "f1"),
		register("churn", types.ModelApprovalStatusApproved, "m3"),
		register("churn", types.ModelApprovalStatusRejected, "m4"),
	}
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1", arns[0])
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1", arns[2])
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/4", arns[4])

	first, err := e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: aws.String(arns[0])})
	require.NoError(t, err)
	require.Equal(t, types.ModelApprovalStatusPendingManualApproval, first.ModelApprovalStatus)
	require.Equal(t, int32(1), aws.ToInt32(first.ModelPackageVersion))
	require.Equal(t, "churn", aws.ToString(first.ModelPackageGroupName))
	require.Equal(t, types.ModelPackageStatusCompleted, first.ModelPackageStatus)
	require.Equal(t, map[string]string{"SageMakerModelName": "m1"}, first.CustomerMetadataProperties)
	require.Equal(t, "s3://mdlc-bucket/model/m1.tar.gz", aws.ToString(first.InferenceSpecification.Containers[0].ModelDataUrl))

	versions := func(in *sm.ListModelPackagesInput) []int32 {
		t.Helper()
		var got []int32
		p := sm.NewListModelPackagesPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, s := range page.ModelPackageSummaryList {
				got = append(got, aws.ToInt32(s.ModelPackageVersion))
			}
		}
		return got
	}
	tests := []struct {
		name string
		in   sm.ListModelPackagesInput
		want []int32
	}{
		{"group, default ascending", sm.ListModelPackagesInput{ModelPackageGroupName: aws.String("churn")}, []int32{1, 2, 3, 4}},
		{"group by ARN", sm.ListModelPackagesInput{ModelPackageGroupName: group.ModelPackageGroupArn}, []int32{1, 2, 3, 4}},
		{"newest approved first", sm.ListModelPackagesInput{ModelPackageGroupName: aws.String("churn"), ModelApprovalStatus: types.ModelApprovalStatusApproved,
			SortBy: types.ModelPackageSortByCreationTime, SortOrder: types.SortOrderDescending}, []int32{3, 2}},
		{"one a page", sm.ListModelPackagesInput{ModelPackageGroupName: aws.String("churn"), MaxResults: aws.Int32(1)}, []int32{1, 2, 3, 4}},
		{"all groups by name", sm.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeVersioned, SortBy: types.ModelPackageSortByName, MaxResults: aws.Int32(2)}, []int32{1, 2, 3, 4, 1}},
		{"both types", sm.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, SortBy: types.ModelPackageSortByName}, []int32{1, 2, 3, 4, 1}},
		{"unversioned", sm.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeUnversioned}, nil},
		{"neither group nor type: Unversioned, as AWS defaults", sm.ListModelPackagesInput{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, versions(&tc.in))
		})
	}

	_, err = e.client.UpdateModelPackage(ctx, &sm.UpdateModelPackageInput{
		ModelPackageArn: aws.String(arns[0]), ModelApprovalStatus: types.ModelApprovalStatusApproved,
		ApprovalDescription: aws.String("AUC 0.91"), CustomerMetadataProperties: map[string]string{"RunId": "r1"},
	})
	require.NoError(t, err)
	updated, err := e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: aws.String(arns[0])})
	require.NoError(t, err)
	require.Equal(t, types.ModelApprovalStatusApproved, updated.ModelApprovalStatus)
	require.Equal(t, "AUC 0.91", aws.ToString(updated.ApprovalDescription))
	require.Equal(t, map[string]string{"SageMakerModelName": "m1", "RunId": "r1"}, updated.CustomerMetadataProperties)
	require.True(t, updated.LastModifiedTime.After(*updated.CreationTime))

	_, err = e.client.UpdateModelPackage(ctx, &sm.UpdateModelPackageInput{ModelPackageArn: aws.String("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/9")})
	code, _ := apiCode(t, err)
	require.Equal(t, "ValidationException", code)

	groups, err := e.client.ListModelPackageGroups(ctx, &sm.ListModelPackageGroupsInput{SortBy: types.ModelPackageGroupSortByName, SortOrder: types.SortOrderDescending})
	require.NoError(t, err)
	require.Len(t, groups.ModelPackageGroupSummaryList, 2)
	require.Equal(t, "fraud", aws.ToString(groups.ModelPackageGroupSummaryList[0].ModelPackageGroupName))
	desc, err := e.client.DescribeModelPackageGroup(ctx, &sm.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	require.Equal(t, "churn models", aws.ToString(desc.ModelPackageGroupDescription))
	require.Equal(t, types.ModelPackageGroupStatusCompleted, desc.ModelPackageGroupStatus)
}

func TestModelPackageClientToken(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	_, err := e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	in := &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"), ClientToken: aws.String("run-1")}
	a, err := e.client.CreateModelPackage(ctx, in)
	require.NoError(t, err)
	b, err := e.client.CreateModelPackage(ctx, in)
	require.NoError(t, err)
	require.Equal(t, aws.ToString(a.ModelPackageArn), aws.ToString(b.ModelPackageArn))
}

func TestTags(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	ctx := context.Background()
	in := e.trainingInput(t, "job-1")
	in.Tags = []types.Tag{{Key: aws.String("workflow-run"), Value: aws.String("r1")}}
	e.modelFromTraining(t, "model-1")
	_, err := e.client.CreateTrainingJob(ctx, in)
	require.NoError(t, err)
	e.waitTraining(t, "job-1")
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	pkg, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)

	tagsOf := func(arn string) map[string]string {
		t.Helper()
		out, err := e.client.ListTags(ctx, &sm.ListTagsInput{ResourceArn: aws.String(arn)})
		require.NoError(t, err)
		got := map[string]string{}
		for _, tg := range out.Tags {
			got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return got
	}
	resources := map[string]map[string]string{
		"arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1":        {"workflow-run": "r1"},
		"arn:aws:sagemaker:us-east-1:123456789012:model/model-1":             {},
		"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn": {},
		aws.ToString(pkg.ModelPackageArn):                                    {},
	}
	for arn, want := range resources {
		t.Run(arn, func(t *testing.T) {
			require.Equal(t, want, tagsOf(arn))
			_, err := e.client.AddTags(ctx, &sm.AddTagsInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
				{Key: aws.String("owner"), Value: aws.String("ml")}, {Key: aws.String("workflow-run"), Value: aws.String("r2")},
			}})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"owner": "ml", "workflow-run": "r2"}, tagsOf(arn))
			_, err = e.client.DeleteTags(ctx, &sm.DeleteTagsInput{ResourceArn: aws.String(arn), TagKeys: []string{"owner"}})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"workflow-run": "r2"}, tagsOf(arn))
		})
	}
}

func TestPersistence(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	ctx := context.Background()
	e.modelFromTraining(t, "churn-1")
	e.put(t, "holdout/x.csv", "a\n")
	_, err := e.client.CreateTransformJob(ctx, newTransformInput("t1", "churn-1", "holdout"))
	require.NoError(t, err)
	e.waitTransform(t, "t1")
	_, err = e.client.CreateModelPackageGroup(ctx, &sm.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	pkg, err := e.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"), ClientToken: aws.String("tok"),
		CustomerMetadataProperties: map[string]string{"SageMakerModelName": "churn-1"}, ModelApprovalStatus: types.ModelApprovalStatusApproved})
	require.NoError(t, err)

	describe := func(e *env) []any {
		t.Helper()
		job, err := e.client.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("churn-1")})
		require.NoError(t, err)
		model, err := e.client.DescribeModel(ctx, &sm.DescribeModelInput{ModelName: aws.String("churn-1")})
		require.NoError(t, err)
		transform, err := e.client.DescribeTransformJob(ctx, &sm.DescribeTransformJobInput{TransformJobName: aws.String("t1")})
		require.NoError(t, err)
		group, err := e.client.DescribeModelPackageGroup(ctx, &sm.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		require.NoError(t, err)
		p, err := e.client.DescribeModelPackage(ctx, &sm.DescribeModelPackageInput{ModelPackageName: pkg.ModelPackageArn})
		require.NoError(t, err)
		var none middleware.Metadata
		job.ResultMetadata, model.ResultMetadata, transform.ResultMetadata, group.ResultMetadata, p.ResultMetadata = none, none, none, none, none
		return []any{job, model, transform, group, p}
	}
	before := describe(e)
	require.NoError(t, e.svc.Close())
	again := newEnvOn(t, e.dir, e.objects, &fakeAlgorithm{train: countingTrain, predict: echoPredict})
	require.Equal(t, before, describe(again))

	// The registry keeps counting versions, and the client token still dedupes.
	same, err := again.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn"), ClientToken: aws.String("tok")})
	require.NoError(t, err)
	require.Equal(t, aws.ToString(pkg.ModelPackageArn), aws.ToString(same.ModelPackageArn))
	next, err := again.client.CreateModelPackage(ctx, &sm.CreateModelPackageInput{ModelPackageGroupName: aws.String("churn")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2", aws.ToString(next.ModelPackageArn))
}

func TestErrorEnvelope(t *testing.T) {
	e := newEnv(t, &fakeAlgorithm{train: countingTrain})
	req, err := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"TrainingJobName":"nope"}`))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "SageMaker.DescribeTrainingJob")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "application/x-amz-json-1.1", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("X-Amzn-Requestid"))
}
