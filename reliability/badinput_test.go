package reliability_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/internal/stack/harness"
	"github.com/mdlc/mdlc/lambdas/contract"
	"github.com/mdlc/mdlc/workflows"
)

// TestBadInputSweep sends malformed requests through every entry point — workflow inputs through the
// Temporal client, Lambda events through the Lambda API, SageMaker and S3 requests through the SDKs, and
// starter command lines through the built binary — and checks that each is answered with a clear error
// (a stable error type or code and a message that names the problem) and that none of them created anything:
// no SageMaker job, model or model package group, and no S3 object.
func TestBadInputSweep(t *testing.T) {
	h := start(t, harness.SmallData())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	before := snapshot(t, ctx, h)
	cases := 0

	t.Run("workflow inputs", func(t *testing.T) {
		long := strings.Repeat("m", 64)
		over, under := 1.5, -0.1
		for _, tc := range []struct {
			name, workflow string
			input          any
			wantType, want string
		}{
			{"training: empty model", workflows.TrainingWorkflow, workflows.TrainingInput{DataDate: "2019-10-01"}, activities.ErrInvalidInput, `model name ""`},
			{"training: underscore in model", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn_v2", DataDate: "2019-10-01"}, activities.ErrInvalidInput, "letters, digits and hyphens"},
			{"training: 64-character model", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: long, DataDate: "2019-10-01"}, activities.ErrInvalidInput, "1-63"},
			{"training: leading hyphen", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "-churn", DataDate: "2019-10-01"}, activities.ErrInvalidInput, "starting and ending"},
			{"training: empty date", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn"}, activities.ErrInvalidInput, "YYYY-MM-DD"},
			{"training: month 13", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-13-01"}, activities.ErrInvalidInput, "2019-13-01"},
			{"training: 30 February", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-02-30"}, activities.ErrInvalidInput, "real date"},
			{"training: date without dashes", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "20191001"}, activities.ErrInvalidInput, "YYYY-MM-DD"},
			{"training: unknown approval status", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-10-01", ApprovalStatus: "Maybe"}, activities.ErrInvalidInput, "approval status"},
			{"training: promotion margin above 1", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-10-01", PromotionMargin: &over}, activities.ErrInvalidInput, "promotion margin"},
			{"training: champion AUC above 1", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-10-01",
				Champion: &contract.Champion{ModelPackageArn: "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/1", ModelPackageVersion: 1, SageMakerModelName: "churn-1", AUC: over}}, activities.ErrInvalidInput, "champion AUC"},
			{"training: date and offset", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2019-10-01", DataDateOffset: "-1d"}, activities.ErrInvalidInput, "both given"},
			{"training: offset in hours", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDateOffset: "-24h"}, activities.ErrInvalidInput, "data date offset"},
			{"training: offset without a schedule", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDateOffset: "-1d"}, activities.ErrInvalidInput, "needs the schedule's time"},
			{"inference: negative promotion margin", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2019-11-01", PromotionMargin: &under}, activities.ErrInvalidInput, "promotion margin"},
			{"inference: scheduled time not RFC 3339", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDateOffset: "-1d", ScheduledTime: "yesterday"}, activities.ErrInvalidInput, "RFC 3339"},
			{"training: no data for the date", workflows.TrainingWorkflow, workflows.TrainingInput{ModelName: "churn", DataDate: "2018-01-01"}, "DataNotFound", "2018-01-01"},
			{"inference: threshold above 1", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2019-11-01", Threshold: &over}, activities.ErrInvalidInput, "threshold"},
			{"inference: negative threshold", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2019-11-01", Threshold: &under}, activities.ErrInvalidInput, "threshold"},
			{"inference: empty model", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{DataDate: "2019-11-01"}, activities.ErrInvalidInput, "model name"},
			{"inference: bad date", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2019/11/01"}, activities.ErrInvalidInput, "YYYY-MM-DD"},
			{"inference: no holdout data", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "churn", DataDate: "2018-01-01"}, "DataNotFound", "2018-01-01"},
			{"inference: no approved model", workflows.BatchInferenceWorkflow, workflows.BatchInferenceInput{ModelName: "never-trained", DataDate: "2019-11-01"}, activities.ErrModelNotFound, "never-trained"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cases++
				run, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, tc.workflow, tc.input)
				require.NoError(t, err)
				err = run.Get(ctx, nil)
				var app *temporal.ApplicationError
				require.ErrorAs(t, err, &app)
				require.Equal(t, tc.wantType, app.Type(), err.Error())
				require.Contains(t, err.Error(), tc.want)
			})
		}
	})

	t.Run("lambda events", func(t *testing.T) {
		for _, tc := range []struct {
			name, function, payload string
			wantType, want          string
		}{
			{"JSON array", "initialize-training", `[]`, "InvalidInput", "decode event"},
			{"empty event", "initialize-training", `{}`, "InvalidInput", "ModelName"},
			{"no bucket", "initialize-training", `{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-10-01"}}`, "InvalidInput", "S3RootBucket"},
			{"invalid model", "initialize-training", `{"WorkflowInput":{"ModelName":"churn v2","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-local"}`, "InvalidInput", "churn v2"},
			{"missing bucket", "initialize-training", `{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-10-01"},"S3RootBucket":"no-such-bucket"}`, "DataNotFound", "no-such-bucket"},
			{"bad run time", "initialize-training", `{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-10-01"},"S3RootBucket":"mdlc-local","RunTime":"yesterday"}`, "InvalidInput", "RunTime"},
			{"inference: bad date", "initialize-inference", `{"WorkflowInput":{"ModelName":"churn","DataDate":"2019-11-31"},"S3RootBucket":"mdlc-local"}`, "InvalidInput", "2019-11-31"},
			{"monitor: empty event", "monitor-performance", `{}`, "InvalidInput", "PredictionInput"},
			{"monitor: not an S3 URI", "monitor-performance", `{"PredictionInput":"/tmp/x.out","TargetInput":"s3://mdlc-local/input-data/2019-10-01/holdout_target/holdout_target.csv"}`, "InvalidInput", "/tmp/x.out"},
			{"monitor: missing prediction", "monitor-performance", `{"PredictionInput":"s3://mdlc-local/output-data/none.out","TargetInput":"s3://mdlc-local/input-data/2019-10-01/holdout_target/holdout_target.csv"}`, "DataNotFound", "none.out"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cases++
				out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)})
				require.NoError(t, err, "a function error is a 200 answer with FunctionError set")
				require.Equal(t, "Unhandled", aws.ToString(out.FunctionError), string(out.Payload))
				require.Contains(t, string(out.Payload), `"errorType":"`+tc.wantType+`"`)
				require.Contains(t, string(out.Payload), tc.want)
			})
		}
		t.Run("payload not JSON", func(t *testing.T) {
			cases++
			_, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("initialize-training"), Payload: []byte(`{"WorkflowInput":`)})
			requireAPIError(t, err, "InvalidRequestContentException", "json")
		})
		t.Run("unknown function", func(t *testing.T) {
			cases++
			_, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("no-such-function"), Payload: []byte(`{}`)})
			requireAPIError(t, err, "ResourceNotFoundException", "no-such-function")
		})
	})

	t.Run("sagemaker and s3 requests", func(t *testing.T) {
		good := func() *sagemaker.CreateTrainingJobInput {
			return &sagemaker.CreateTrainingJobInput{
				TrainingJobName: aws.String("sweep-1"),
				RoleArn:         aws.String("arn:aws:iam::000000000000:role/mdlc-local"),
				AlgorithmSpecification: &smtypes.AlgorithmSpecification{
					TrainingImage: aws.String(activities.DefaultTrainingImage), TrainingInputMode: smtypes.TrainingInputModeFile,
				},
				InputDataConfig: []smtypes.Channel{{ChannelName: aws.String("train"), ContentType: aws.String("text/csv"),
					DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
						S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://mdlc-local/input-data/2019-10-01/train"),
					}}}},
				OutputDataConfig:  &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://mdlc-local/model/sweep")},
				ResourceConfig:    &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM54xlarge, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(50)},
				StoppingCondition: &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
				HyperParameters:   map[string]string{"num_round": "10", "objective": "binary:logistic"},
			}
		}
		for _, tc := range []struct {
			name      string
			call      func() error
			code, msg string
		}{
			{"training job: name with underscore", func() error {
				in := good()
				in.TrainingJobName = aws.String("sweep_1")
				_, err := h.SageMaker.CreateTrainingJob(ctx, in)
				return err
			}, "ValidationException", "sweep_1"},
			{"training job: input prefix without objects", func() error {
				in := good()
				in.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("s3://mdlc-local/input-data/1999-01-01/train")
				_, err := h.SageMaker.CreateTrainingJob(ctx, in)
				return err
			}, "ValidationException", "1999-01-01"},
			{"training job: no algorithm", func() error {
				in := good()
				in.AlgorithmSpecification = nil
				_, err := h.SageMaker.CreateTrainingJob(ctx, in)
				return err
			}, "ValidationException", "algorithmSpecification"},
			{"training job: role is not an ARN", func() error {
				in := good()
				in.RoleArn = aws.String("mdlc-role")
				_, err := h.SageMaker.CreateTrainingJob(ctx, in)
				return err
			}, "ValidationException", "mdlc-role"},
			{"describe a missing training job", func() error {
				_, err := h.SageMaker.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("never-created")})
				return err
			}, "ValidationException", "Requested resource not found"},
			{"stop a missing training job", func() error {
				_, err := h.SageMaker.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("never-created")})
				return err
			}, "ValidationException", "Requested resource not found"},
			{"transform job: missing model", func() error {
				_, err := h.SageMaker.CreateTransformJob(ctx, &sagemaker.CreateTransformJobInput{
					TransformJobName: aws.String("sweep-t"), ModelName: aws.String("no-such-model"),
					TransformInput: &smtypes.TransformInput{ContentType: aws.String("text/csv"), SplitType: smtypes.SplitTypeLine, DataSource: &smtypes.TransformDataSource{S3DataSource: &smtypes.TransformS3DataSource{
						S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String("s3://mdlc-local/input-data/2019-10-01/holdout_data")}}},
					TransformOutput:    &smtypes.TransformOutput{S3OutputPath: aws.String("s3://mdlc-local/output-data/sweep")},
					TransformResources: &smtypes.TransformResources{InstanceType: smtypes.TransformInstanceTypeMlC42xlarge, InstanceCount: aws.Int32(1)},
				})
				return err
			}, "ValidationException", "no-such-model"},
			{"model: name with a dot", func() error {
				_, err := h.SageMaker.CreateModel(ctx, &sagemaker.CreateModelInput{
					ModelName: aws.String("sweep.model"), ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/mdlc-local"),
					PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(activities.DefaultTrainingImage), ModelDataUrl: aws.String("s3://mdlc-local/model.tar.gz")},
				})
				return err
			}, "ValidationException", "sweep.model"},
			{"model package in a missing group", func() error {
				_, err := h.SageMaker.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("no_such group")})
				return err
			}, "ValidationException", "no_such group"},
			{"s3: get a missing key", func() error {
				_, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String("input-data/none.csv")})
				return err
			}, "NoSuchKey", ""},
			{"s3: put into a missing bucket", func() error {
				_, err := h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
				return err
			}, "NoSuchBucket", ""},
			{"s3: invalid bucket name", func() error {
				_, err := h.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Invalid_Bucket")})
				return err
			}, "InvalidBucketName", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cases++
				requireAPIError(t, tc.call(), tc.code, tc.msg)
			})
		}
	})

	t.Run("starter flags", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "starter")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./starter")
		build.Dir = stack.ModuleRoot()
		out, err := build.CombinedOutput()
		require.NoError(t, err, "build the starter: %s", out)
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"no subcommand", nil, "no subcommand"},
			{"unknown subcommand", []string{"deploy"}, `unknown subcommand "deploy"`},
			{"flag before the subcommand", []string{"--model", "churn", "train"}, "flags go after it"},
			{"train without flags", []string{"train"}, "--model and --data-date are required"},
			{"train without a date", []string{"train", "--model", "churn"}, "--data-date is required"},
			{"train: bad model", []string{"train", "--model", "churn_v2", "--data-date", "2019-10-01"}, "churn_v2"},
			{"train: bad date", []string{"train", "--model", "churn", "--data-date", "2019-13-01"}, "2019-13-01"},
			{"infer: threshold above 1", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "2"}, "threshold"},
			{"infer: threshold not a number", []string{"infer", "--model", "churn", "--data-date", "2019-11-01", "--threshold", "high"}, "threshold"},
			{"unknown flag", []string{"train", "--modle", "churn"}, "modle"},
			{"bad output format", []string{"list", "--output", "yaml"}, "yaml"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cases++
				cmd := exec.CommandContext(ctx, bin, tc.args...)
				cmd.Env = append(os.Environ(), h.Env()...)
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit, "starter %v must fail: %s", tc.args, out)
				require.Equal(t, 2, exit.ExitCode(), "bad usage exits 2: %s", out)
				require.Contains(t, string(out), tc.want)
			})
		}
	})

	t.Logf("%d malformed inputs", cases)
	require.GreaterOrEqual(t, cases, 30)
	// One exception, by design: Initialize runs before Find Model (as in the original state machine) and
	// records the run's request, so the run that finds no approved model leaves its workflow_request.json.
	var after []string
	for _, o := range snapshot(t, ctx, h) {
		if strings.HasPrefix(o, "s3://mdlc-local/workflow-requests/never-trained-") && strings.HasSuffix(o, "/workflow_request.json") {
			continue
		}
		after = append(after, o)
	}
	require.Equal(t, before, after, "no malformed input created anything")
}

// requireAPIError checks that err is an AWS API error with code whose message contains msg.
func requireAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "want an API error %s, got %v", code, err)
	require.Equal(t, code, api.ErrorCode(), err.Error())
	require.Contains(t, api.ErrorMessage(), msg)
}

// snapshot lists what exists in localaws: S3 objects, SageMaker jobs, models and model package groups.
func snapshot(t *testing.T, ctx context.Context, h *harness.Harness) []string {
	t.Helper()
	var all []string
	buckets, err := h.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	for _, b := range buckets.Buckets {
		p := s3.NewListObjectsV2Paginator(h.S3, &s3.ListObjectsV2Input{Bucket: b.Name})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			require.NoError(t, err)
			for _, o := range page.Contents {
				all = append(all, "s3://"+aws.ToString(b.Name)+"/"+aws.ToString(o.Key))
			}
		}
	}
	jobs, err := h.Jobs(ctx)
	require.NoError(t, err)
	for _, j := range jobs {
		all = append(all, j.Kind+" job "+j.Name)
	}
	models, err := h.SageMaker.ListModels(ctx, &sagemaker.ListModelsInput{})
	require.NoError(t, err)
	for _, m := range models.Models {
		all = append(all, "model "+aws.ToString(m.ModelName))
	}
	groups, err := h.SageMaker.ListModelPackageGroups(ctx, &sagemaker.ListModelPackageGroupsInput{})
	require.NoError(t, err)
	for _, g := range groups.ModelPackageGroupSummaryList {
		all = append(all, "group "+aws.ToString(g.ModelPackageGroupName))
	}
	sort.Strings(all)
	return all
}
