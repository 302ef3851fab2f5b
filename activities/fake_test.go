package activities

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// fakeSageMaker is an in-memory SageMaker for unit tests: jobs move InProgress → their scripted end state after
// a number of Describe calls.
type fakeSageMaker struct {
	mu sync.Mutex
	// describesToEnd is how many Describe calls a job stays InProgress; endState is where it then ends.
	describesToEnd int
	endState       string
	failureReason  string
	// throttle answers this many Describe calls with ThrottlingException first.
	throttle int

	creates, stops int
	// listCalls counts ListModelPackages calls; updates UpdateModelPackage calls.
	listCalls, updates int
	// packageDescribes counts DescribeModelPackage calls of existing packages; onPackageDescribe, when set,
	// is called (with the lock held) after each, to change the package as a person would in the console.
	packageDescribes  int
	onPackageDescribe func(p *sagemaker.DescribeModelPackageOutput, n int)
	jobs              map[string]*fakeJob
	tags              map[string][]smtypes.Tag
	models            map[string]*sagemaker.CreateModelInput
	groups            map[string]bool
	packages          []*sagemaker.DescribeModelPackageOutput
}

type fakeJob struct {
	arn, status string
	describes   int
}

func newFakeSageMaker() *fakeSageMaker {
	return &fakeSageMaker{
		endState: "Completed", describesToEnd: 2,
		jobs: map[string]*fakeJob{}, tags: map[string][]smtypes.Tag{},
		models: map[string]*sagemaker.CreateModelInput{}, groups: map[string]bool{},
	}
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func (f *fakeSageMaker) createJob(kind, name string, tags []smtypes.Tag) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.jobs[name]; ok {
		return apiErr("ResourceInUse", "job names must be unique: "+name)
	}
	f.creates++
	arn := fmt.Sprintf("arn:aws:sagemaker:us-east-1:000000000000:%s/%s", kind, name)
	f.jobs[name] = &fakeJob{arn: arn, status: "InProgress"}
	f.tags[arn] = tags
	return nil
}

func (f *fakeSageMaker) describeJob(name string) (*fakeJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttle > 0 {
		f.throttle--
		return nil, apiErr("ThrottlingException", "Rate exceeded")
	}
	j, ok := f.jobs[name]
	if !ok {
		return nil, apiErr("ValidationException", "Requested resource not found.")
	}
	j.describes++
	if j.status == "InProgress" && j.describes > f.describesToEnd {
		j.status = f.endState
	}
	if j.status == "Stopping" {
		j.status = "Stopped"
	}
	cp := *j
	return &cp, nil
}

func (f *fakeSageMaker) stopJob(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[name]
	if !ok || j.status != "InProgress" {
		return apiErr("ValidationException", "job is not in progress")
	}
	f.stops++
	j.status = "Stopping"
	return nil
}

func (f *fakeSageMaker) CreateTrainingJob(_ context.Context, in *sagemaker.CreateTrainingJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateTrainingJobOutput, error) {
	return &sagemaker.CreateTrainingJobOutput{}, f.createJob("training-job", *in.TrainingJobName, in.Tags)
}

func (f *fakeSageMaker) DescribeTrainingJob(_ context.Context, in *sagemaker.DescribeTrainingJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeTrainingJobOutput, error) {
	j, err := f.describeJob(*in.TrainingJobName)
	if err != nil {
		return nil, err
	}
	out := &sagemaker.DescribeTrainingJobOutput{
		TrainingJobName: in.TrainingJobName, TrainingJobArn: aws.String(j.arn),
		TrainingJobStatus: smtypes.TrainingJobStatus(j.status), SecondaryStatus: smtypes.SecondaryStatusTraining,
	}
	switch j.status {
	case "Completed":
		out.ModelArtifacts = &smtypes.ModelArtifacts{S3ModelArtifacts: aws.String("s3://b/model/" + *in.TrainingJobName + "/output/model.tar.gz")}
		out.FinalMetricDataList = []smtypes.MetricData{{MetricName: aws.String("validation:logloss"), Value: aws.Float32(0.25)}}
	case "Failed":
		out.FailureReason = aws.String(f.failureReason)
	}
	return out, nil
}

func (f *fakeSageMaker) StopTrainingJob(_ context.Context, in *sagemaker.StopTrainingJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.StopTrainingJobOutput, error) {
	return &sagemaker.StopTrainingJobOutput{}, f.stopJob(*in.TrainingJobName)
}

func (f *fakeSageMaker) CreateTransformJob(_ context.Context, in *sagemaker.CreateTransformJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateTransformJobOutput, error) {
	return &sagemaker.CreateTransformJobOutput{}, f.createJob("transform-job", *in.TransformJobName, in.Tags)
}

func (f *fakeSageMaker) DescribeTransformJob(_ context.Context, in *sagemaker.DescribeTransformJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeTransformJobOutput, error) {
	j, err := f.describeJob(*in.TransformJobName)
	if err != nil {
		return nil, err
	}
	out := &sagemaker.DescribeTransformJobOutput{TransformJobName: in.TransformJobName, TransformJobArn: aws.String(j.arn), TransformJobStatus: smtypes.TransformJobStatus(j.status)}
	if j.status == "Failed" {
		out.FailureReason = aws.String(f.failureReason)
	}
	return out, nil
}

func (f *fakeSageMaker) StopTransformJob(_ context.Context, in *sagemaker.StopTransformJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.StopTransformJobOutput, error) {
	return &sagemaker.StopTransformJobOutput{}, f.stopJob(*in.TransformJobName)
}

func (f *fakeSageMaker) CreateModel(_ context.Context, in *sagemaker.CreateModelInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateModelOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.models[*in.ModelName]; ok {
		return nil, apiErr("ValidationException", "Cannot create already existing model")
	}
	f.models[*in.ModelName] = in
	return &sagemaker.CreateModelOutput{ModelArn: aws.String("arn:model/" + *in.ModelName)}, nil
}

func (f *fakeSageMaker) DescribeModel(_ context.Context, in *sagemaker.DescribeModelInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeModelOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.models[*in.ModelName]
	if !ok {
		return nil, apiErr("ValidationException", "Could not find model")
	}
	return &sagemaker.DescribeModelOutput{ModelName: m.ModelName, ModelArn: aws.String("arn:model/" + *in.ModelName), PrimaryContainer: m.PrimaryContainer}, nil
}

func (f *fakeSageMaker) CreateModelPackageGroup(_ context.Context, in *sagemaker.CreateModelPackageGroupInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateModelPackageGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[*in.ModelPackageGroupName] = true
	return &sagemaker.CreateModelPackageGroupOutput{}, nil
}

func (f *fakeSageMaker) DescribeModelPackageGroup(_ context.Context, in *sagemaker.DescribeModelPackageGroupInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.groups[*in.ModelPackageGroupName] {
		return nil, apiErr("ValidationException", "ModelPackageGroup does not exist")
	}
	return &sagemaker.DescribeModelPackageGroupOutput{}, nil
}

func (f *fakeSageMaker) CreateModelPackage(_ context.Context, in *sagemaker.CreateModelPackageInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateModelPackageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	group := *in.ModelPackageGroupName
	if !f.groups[group] {
		return nil, apiErr("ValidationException", "ModelPackageGroup does not exist")
	}
	version := int32(1)
	for _, p := range f.packages {
		if *p.ModelPackageGroupName == group {
			version++
		}
	}
	arn := fmt.Sprintf("arn:aws:sagemaker:us-east-1:000000000000:model-package/%s/%d", group, version)
	f.packages = append(f.packages, &sagemaker.DescribeModelPackageOutput{
		ModelPackageArn: aws.String(arn), ModelPackageGroupName: aws.String(group), ModelPackageVersion: aws.Int32(version),
		ModelApprovalStatus: in.ModelApprovalStatus, CustomerMetadataProperties: in.CustomerMetadataProperties,
		InferenceSpecification: in.InferenceSpecification, ModelMetrics: in.ModelMetrics,
		CreationTime: aws.Time(time.Unix(int64(len(f.packages)), 0)),
	})
	return &sagemaker.CreateModelPackageOutput{ModelPackageArn: aws.String(arn)}, nil
}

func (f *fakeSageMaker) UpdateModelPackage(_ context.Context, in *sagemaker.UpdateModelPackageInput, _ ...func(*sagemaker.Options)) (*sagemaker.UpdateModelPackageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	for _, p := range f.packages {
		if *p.ModelPackageArn == *in.ModelPackageArn {
			if in.ModelApprovalStatus != "" {
				p.ModelApprovalStatus = in.ModelApprovalStatus
			}
			if in.ApprovalDescription != nil {
				p.ApprovalDescription = in.ApprovalDescription
			}
			return &sagemaker.UpdateModelPackageOutput{ModelPackageArn: p.ModelPackageArn}, nil
		}
	}
	return nil, apiErr("ValidationException", "model package not found")
}

func (f *fakeSageMaker) DescribeModelPackage(_ context.Context, in *sagemaker.DescribeModelPackageInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.packages {
		if *p.ModelPackageArn == *in.ModelPackageName {
			f.packageDescribes++
			if f.onPackageDescribe != nil {
				f.onPackageDescribe(p, f.packageDescribes)
			}
			out := *p
			return &out, nil
		}
	}
	return nil, apiErr("ValidationException", "model package not found")
}

func (f *fakeSageMaker) ListModelPackages(_ context.Context, in *sagemaker.ListModelPackagesInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	var out []smtypes.ModelPackageSummary
	for _, p := range f.packages {
		if *p.ModelPackageGroupName != aws.ToString(in.ModelPackageGroupName) {
			continue
		}
		if in.ModelApprovalStatus != "" && p.ModelApprovalStatus != in.ModelApprovalStatus {
			continue
		}
		if in.CreationTimeAfter != nil && !p.CreationTime.After(*in.CreationTimeAfter) {
			continue
		}
		out = append(out, smtypes.ModelPackageSummary{ModelPackageArn: p.ModelPackageArn, ModelPackageVersion: p.ModelPackageVersion,
			CreationTime: p.CreationTime, ModelApprovalStatus: p.ModelApprovalStatus})
	}
	// Newest first when asked, else oldest first (the API's default); equal times keep registration order.
	sort.SliceStable(out, func(i, j int) bool {
		if in.SortOrder == smtypes.SortOrderDescending {
			return out[i].CreationTime.After(*out[j].CreationTime)
		}
		return out[i].CreationTime.Before(*out[j].CreationTime)
	})
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	out = out[min(start, len(out)):]
	var next *string
	if n := int(aws.ToInt32(in.MaxResults)); n > 0 && len(out) > n {
		out, next = out[:n], aws.String(strconv.Itoa(start+n))
	}
	return &sagemaker.ListModelPackagesOutput{ModelPackageSummaryList: out, NextToken: next}, nil
}

func (f *fakeSageMaker) ListTags(_ context.Context, in *sagemaker.ListTagsInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &sagemaker.ListTagsOutput{Tags: f.tags[*in.ResourceArn]}, nil
}

// fakeLambda answers each invocation with the scripted payload and function error of the named function.
type fakeLambda struct {
	mu      sync.Mutex
	answers map[string]fakeAnswer
	events  map[string][]byte
}

type fakeAnswer struct {
	payload       string
	functionError string
	err           error
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.events == nil {
		f.events = map[string][]byte{}
	}
	f.events[*in.FunctionName] = in.Payload
	ans, ok := f.answers[*in.FunctionName]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "Function not found: "+*in.FunctionName)
	}
	if ans.err != nil {
		return nil, ans.err
	}
	out := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(ans.payload)}
	if ans.functionError != "" {
		out.FunctionError = aws.String(ans.functionError)
	}
	return out, nil
}
