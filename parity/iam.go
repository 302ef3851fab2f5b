package parity

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mdlc/mdlc/activities"
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
// the EventBridge rules Step Functions manages for .sync; passing the SageMaker execution role; for training,
// writing the task tokens of its Wait for Approval state; and, for batch inference, running the training state
// machine to completion.
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
			{Sid: "InvokeFunctions", Action: []string{"lambda:InvokeFunction"}, Resource: functions(f.InitializeTraining, f.MonitorPerformance)},
			{Sid: "TrainingJob", Action: []string{"sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"},
				Resource: []string{sm("training-job")}},
			{Sid: "TrainingJobSyncRule", Action: events, Resource: []string{rule("StepFunctionsGetEventsForSageMakerTrainingJobsRule")}},
			{Sid: "Model", Action: []string{"sagemaker:CreateModel", "sagemaker:AddTags"}, Resource: []string{sm("model")}},
			{Sid: "Registry", Action: []string{"sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackageGroup", "sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"},
				Resource: []string{sm("model-package-group"), sm("model-package")}},
			{Sid: "EvaluationTransformJob", Action: []string{"sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags"},
				Resource: []string{sm("transform-job")}},
			{Sid: "EvaluationTransformJobSyncRule", Action: events, Resource: []string{rule("StepFunctionsGetEventsForSageMakerTransformJobsRule")}},
			{Sid: "PassSageMakerRole", Action: []string{"iam:PassRole"}, Resource: []string{cfg.Activities.RoleArn},
				Condition: map[string]map[string]string{"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
			{Sid: "ApprovalTokens", Action: []string{"s3:PutObject"},
				Resource: []string{fmt.Sprintf("arn:%s:s3:::%s/%s*", cfg.Partition, cfg.Activities.Bucket, activities.ApprovalTokenPrefix)}},
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
	doc := &PolicyDocument{Version: "2012-10-17", Statement: st}
	m, err := Build(p, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(m, doc); err != nil {
		return nil, fmt.Errorf("iam policy of the %s state machine: %w", p, err)
	}
	return doc, nil
}

// syncActions are what a .sync integration calls besides the API its resource names, and the events
// actions it needs for the EventBridge rule Step Functions manages to learn that the job or execution ended
// (the Step Functions developer guide's IAM policies for SageMaker and Step Functions integrations).
var syncActions = map[string][]string{
	"sagemaker:createTrainingJob.sync":  {"sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"},
	"sagemaker:createTransformJob.sync": {"sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"},
	"states:startExecution.sync:2":      {"states:DescribeExecution", "states:StopExecution"},
}

// TaskActions returns the IAM actions the Task states of m need, sorted: the API of each resource
// (lambda:invoke is lambda:InvokeFunction; aws-sdk:<service>:<action> and <service>:<action> are
// <service>:<Action>), what .sync integrations call besides and their EventBridge rule, sagemaker:AddTags
// for a SageMaker request with Tags and iam:PassRole for one that passes a role.
func TaskActions(m *StateMachine) ([]string, error) {
	need := map[string]bool{}
	for _, s := range m.States {
		t, ok := s.State.(*Task)
		if !ok {
			continue
		}
		_, integration, ok := strings.Cut(t.Resource, ":states:::")
		if !ok {
			return nil, fmt.Errorf("task %q: resource %q is not a service integration", s.Name, t.Resource)
		}
		api := strings.TrimPrefix(integration, "aws-sdk:")
		service, action, ok := strings.Cut(api, ":")
		if !ok || action == "" {
			return nil, fmt.Errorf("task %q: resource %q names no API", s.Name, t.Resource)
		}
		action, _, _ = strings.Cut(action, ".")
		if integration == "lambda:invoke" {
			action = "invokeFunction"
		}
		need[service+":"+strings.ToUpper(action[:1])+action[1:]] = true
		if strings.Contains(integration, ".sync") {
			extra, ok := syncActions[integration]
			if !ok {
				return nil, fmt.Errorf("task %q: the actions of integration %q are not known", s.Name, integration)
			}
			for _, a := range slices.Concat(extra, []string{"events:PutTargets", "events:PutRule", "events:DescribeRule"}) {
				need[a] = true
			}
		}
		var params map[string]json.RawMessage
		if err := json.Unmarshal(t.Parameters, &params); err != nil {
			return nil, fmt.Errorf("task %q: parameters: %w", s.Name, err)
		}
		if _, tags := params["Tags"]; tags && service == "sagemaker" {
			need["sagemaker:AddTags"] = true
		}
		if _, role := params["RoleArn"]; role {
			need["iam:PassRole"] = true
		}
		if _, role := params["ExecutionRoleArn"]; role {
			need["iam:PassRole"] = true
		}
	}
	actions := make([]string, 0, len(need))
	for a := range need {
		actions = append(actions, a)
	}
	slices.Sort(actions)
	return actions, nil
}

// checkPolicy reports the actions m's tasks need that doc does not allow, and those doc allows that no task
// needs, so that the hand-scoped statements cannot drift from the states.
func checkPolicy(m *StateMachine, doc *PolicyDocument) error {
	need, err := TaskActions(m)
	if err != nil {
		return err
	}
	allowed := map[string]bool{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			allowed[a] = true
		}
	}
	var errs []error
	for _, a := range need {
		if !allowed[a] {
			errs = append(errs, fmt.Errorf("a task needs %s, which no statement allows", a))
		}
		delete(allowed, a)
	}
	for a := range allowed {
		errs = append(errs, fmt.Errorf("a statement allows %s, which no task needs", a))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}
