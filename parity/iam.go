package parity

import (
	"encoding/json"
	"fmt"
)

// PolicyDocument is an IAM policy document: what a state machine's execution role must be allowed.
type PolicyDocument struct {
	Version   string
	Statement []PolicyStatement
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string]string `json:",omitempty"`
}

// JSON returns the policy as indented JSON, as `aws iam put-role-policy --policy-document` takes it.
func (d *PolicyDocument) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	return append(b, '\n'), nil
}

// IAMPolicy returns the permissions p's state machine needs from its execution role: invoking its Lambda
// functions; the SageMaker calls of its tasks (the .sync integrations also describe, stop and tag the job);
// the EventBridge rules Step Functions manages for .sync; passing the SageMaker execution role; and, for
// batch inference, running the training state machine to completion.
func IAMPolicy(p Pipeline, cfg Config) (*PolicyDocument, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	sm := func(kind string) string {
		return fmt.Sprintf("arn:%s:sagemaker:%s:%s:%s/*", cfg.Partition, cfg.Region, cfg.AccountID, kind)
	}
	rule := func(name string) string {
		return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", cfg.Partition, cfg.Region, cfg.AccountID, name)
	}
	functions := func(names ...string) []string {
		var arns []string
		for _, n := range names {
			arn := cfg.FunctionARN(n)
			arns = append(arns, arn, arn+":*")
		}
		return arns
	}
	f := cfg.Activities.Functions
	events := []string{"events:PutTargets", "events:PutRule", "events:DescribeRule"}
	var st []PolicyStatement
	switch p {
	case TrainingPipeline:
		st = []PolicyStatement{
			{Sid: "InvokeFunctions", Action: []string{"lambda:InvokeFunction"}, Resource: functions(f.InitializeTraining)},
			{Sid: "TrainingJob", Action: []string{"sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"},
				Resource: []string{sm("training-job")}},
			{Sid: "TrainingJobSyncRule", Action: events, Resource: []string{rule("StepFunctionsGetEventsForSageMakerTrainingJobsRule")}},
			{Sid: "Model", Action: []string{"sagemaker:CreateModel", "sagemaker:AddTags"}, Resource: []string{sm("model")}},
			{Sid: "Registry", Action: []string{"sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup", "sagemaker:CreateModelPackage"},
				Resource: []string{sm("model-package-group"), sm("model-package")}},
			{Sid: "PassSageMakerRole", Action: []string{"iam:PassRole"}, Resource: []string{cfg.Activities.RoleArn},
				Condition: map[string]map[string]string{"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
		}
	case BatchInferencePipeline:
		st = []PolicyStatement{
			{Sid: "InvokeFunctions", Action: []string{"lambda:InvokeFunction"}, Resource: functions(f.InitializeInference, f.MonitorPerformance)},
			{Sid: "Registry", Action: []string{"sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"},
				Resource: []string{sm("model-package-group"), sm("model-package")}},
			{Sid: "TransformJob", Action: []string{"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags"},
				Resource: []string{sm("transform-job")}},
			{Sid: "TransformJobSyncRule", Action: events, Resource: []string{rule("StepFunctionsGetEventsForSageMakerTransformJobsRule")}},
			{Sid: "StartTraining", Action: []string{"states:StartExecution"}, Resource: []string{cfg.StateMachineARN(TrainingPipeline)}},
			{Sid: "WaitForTraining", Action: []string{"states:DescribeExecution", "states:StopExecution"},
				Resource: []string{fmt.Sprintf("arn:%s:states:%s:%s:execution:%s:*", cfg.Partition, cfg.Region, cfg.AccountID, cfg.TrainingStateMachine)}},
			{Sid: "ExecutionSyncRule", Action: events, Resource: []string{rule("StepFunctionsGetEventsForStepFunctionsExecutionRule")}},
		}
	default:
		return nil, fmt.Errorf("iam policy: %w", errUnknownPipeline(p))
	}
	for i := range st {
		st[i].Effect = "Allow"
	}
	return &PolicyDocument{Version: "2012-10-17", Statement: st}, nil
}
