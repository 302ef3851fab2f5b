package activities

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// The request builders below are pure functions of the configuration and the Initialize step's plan. The
// parity package renders the same requests as Step Functions task parameters, so both engines send SageMaker
// the same requests.

// TrainingJobRequest is the CreateTrainingJob request of a training run: the original workshop's built-in
// XGBoost job (File mode, text/csv train and validation channels, one instance), tagged with the run.
func TrainingJobRequest(cfg Config, plan TrainingPlan, runKey string) *sagemaker.CreateTrainingJobInput {
	channel := func(name, uri string) smtypes.Channel {
		return smtypes.Channel{
			ChannelName: aws.String(name),
			ContentType: aws.String("text/csv"),
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
				S3DataType:             smtypes.S3DataTypeS3Prefix,
				S3Uri:                  aws.String(uri),
				S3DataDistributionType: smtypes.S3DataDistributionFullyReplicated,
			}},
		}
	}
	return &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(plan.TrainingJobName),
		RoleArn:         aws.String(cfg.RoleArn),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{
			TrainingImage:     aws.String(cfg.TrainingImage),
			TrainingInputMode: smtypes.TrainingInputModeFile,
		},
		HyperParameters: cfg.Hyperparameters,
		InputDataConfig: []smtypes.Channel{
			channel("train", plan.TrainingInput.S3Uri),
			channel("validation", plan.ValidationInput.S3Uri),
		},
		OutputDataConfig: &smtypes.OutputDataConfig{S3OutputPath: aws.String(plan.TrainingOutput.S3Uri)},
		ResourceConfig: &smtypes.ResourceConfig{
			InstanceType:   smtypes.TrainingInstanceType(cfg.TrainingInstanceType),
			InstanceCount:  aws.Int32(cfg.TrainingInstanceCount),
			VolumeSizeInGB: aws.Int32(cfg.TrainingVolumeGB),
		},
		StoppingCondition: &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(int32(cfg.MaxRuntime.Seconds()))},
		Tags:              runTags(runKey),
	}
}

// ModelRequest is the CreateModel request for a finished training job: the model takes the job's name and
// serves its artifacts with the training image.
func ModelRequest(cfg Config, modelName, modelDataURL, runKey string) *sagemaker.CreateModelInput {
	return &sagemaker.CreateModelInput{
		ModelName:        aws.String(modelName),
		ExecutionRoleArn: aws.String(cfg.RoleArn),
		PrimaryContainer: &smtypes.ContainerDefinition{
			Image:        aws.String(cfg.TrainingImage),
			ModelDataUrl: aws.String(modelDataURL),
		},
		Tags: runTags(runKey),
	}
}

// TransformJobRequest is the CreateTransformJob request of a batch-inference run: the original workshop's
// line-split text/csv transform of the holdout data.
func TransformJobRequest(cfg Config, plan InferencePlan, modelName, runKey string) *sagemaker.CreateTransformJobInput {
	return &sagemaker.CreateTransformJobInput{
		TransformJobName: aws.String(plan.InferenceJobName),
		ModelName:        aws.String(modelName),
		TransformInput: &smtypes.TransformInput{
			ContentType: aws.String("text/csv"),
			SplitType:   smtypes.SplitTypeLine,
			DataSource: &smtypes.TransformDataSource{S3DataSource: &smtypes.TransformS3DataSource{
				S3DataType: smtypes.S3DataTypeS3Prefix,
				S3Uri:      aws.String(plan.InferenceInput.S3Uri),
			}},
		},
		TransformOutput: &smtypes.TransformOutput{
			S3OutputPath: aws.String(plan.InferenceOutput.S3Uri),
			Accept:       aws.String("text/csv"),
			AssembleWith: smtypes.AssemblyTypeLine,
		},
		TransformResources: &smtypes.TransformResources{
			InstanceType:  smtypes.TransformInstanceType(cfg.TransformInstanceType),
			InstanceCount: aws.Int32(cfg.TransformInstanceCount),
		},
		Tags: runTags(runKey),
	}
}

func runTags(runKey string) []smtypes.Tag {
	if runKey == "" {
		return nil
	}
	return []smtypes.Tag{{Key: aws.String(RunTag), Value: aws.String(runKey)}}
}
