package parity

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// SFNAPI is the part of the Step Functions client Deploy calls.
type SFNAPI interface {
	ListStateMachines(ctx context.Context, in *sfn.ListStateMachinesInput, optFns ...func(*sfn.Options)) (*sfn.ListStateMachinesOutput, error)
	CreateStateMachine(ctx context.Context, in *sfn.CreateStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.CreateStateMachineOutput, error)
	UpdateStateMachine(ctx context.Context, in *sfn.UpdateStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.UpdateStateMachineOutput, error)
}

// Deployed is a state machine Deploy created or updated.
type Deployed struct {
	Pipeline Pipeline
	Name     string
	Arn      string
	// Created is true when Deploy created the state machine, false when it updated an existing one.
	Created bool
}

var iamRolePattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)

// Deploy creates or updates both state machines (Standard type), training first because batch inference
// starts it, and returns what it did. It is idempotent: a state machine found by name (ListStateMachines) is
// updated with the emitted definition and roleArn, else created. roleArn is the state machines' execution
// role (see IAMPolicy), not the SageMaker role in cfg.
func Deploy(ctx context.Context, client SFNAPI, cfg Config, roleArn string) ([]Deployed, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	if !iamRolePattern.MatchString(roleArn) {
		return nil, fmt.Errorf("state machine role %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", roleArn)
	}
	existing, err := listStateMachines(ctx, client)
	if err != nil {
		return nil, err
	}
	var done []Deployed
	for _, p := range Pipelines() {
		m, err := Build(p, cfg)
		if err != nil {
			return done, err
		}
		def, err := m.JSON()
		if err != nil {
			return done, err
		}
		name := cfg.StateMachineName(p)
		d := Deployed{Pipeline: p, Name: name}
		if arn, ok := existing[name]; ok {
			if _, err := client.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
				StateMachineArn: aws.String(arn), Definition: aws.String(string(def)), RoleArn: aws.String(roleArn),
			}); err != nil {
				return done, fmt.Errorf("update state machine %q: %w", name, err)
			}
			d.Arn = arn
		} else {
			out, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
				Name: aws.String(name), Definition: aws.String(string(def)), RoleArn: aws.String(roleArn),
				Type: sfntypes.StateMachineTypeStandard,
				Tags: []sfntypes.Tag{{Key: aws.String("mdlc:pipeline"), Value: aws.String(string(p))}},
			})
			if err != nil {
				return done, fmt.Errorf("create state machine %q: %w", name, err)
			}
			d.Arn, d.Created = aws.ToString(out.StateMachineArn), true
		}
		done = append(done, d)
		if p == TrainingPipeline && d.Arn != cfg.StateMachineARN(TrainingPipeline) {
			return done, fmt.Errorf("training state machine is %s but the batch-inference definition would start %s: set the region and account of the configuration to those of the Step Functions client",
				d.Arn, cfg.StateMachineARN(TrainingPipeline))
		}
	}
	return done, nil
}

// listStateMachines returns the ARNs of all state machines by name.
func listStateMachines(ctx context.Context, client SFNAPI) (map[string]string, error) {
	found := map[string]string{}
	in := &sfn.ListStateMachinesInput{}
	for {
		out, err := client.ListStateMachines(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list state machines: %w", err)
		}
		for _, m := range out.StateMachines {
			found[aws.ToString(m.Name)] = aws.ToString(m.StateMachineArn)
		}
		if aws.ToString(out.NextToken) == "" {
			return found, nil
		}
		in.NextToken = out.NextToken
	}
}
