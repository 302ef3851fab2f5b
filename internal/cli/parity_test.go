package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/internal/localdefaults"
	"github.com/mdlc/mdlc/internal/pipelineflags"
	"github.com/mdlc/mdlc/parity"
)

func TestParityEmitUsesThePipelineSettings(t *testing.T) {
	out, _, err := run(t, map[string]string{"MDLC_THRESHOLD": "0.65"}, "parity", "emit", "--pipeline", "batch-inference",
		"--hyperparameters", "max_depth=6", "--bucket", "my-ml-data")
	require.NoError(t, err)

	ac := activities.Config{
		Bucket: "my-ml-data", RoleArn: pipelineflags.LocalRole, DefaultThreshold: 0.65, ApprovalStatus: "Approved",
		TrainingImage: activities.DefaultTrainingImage, TrainingInstanceType: activities.DefaultTrainingInstanceType,
		TransformInstanceType: activities.DefaultTransformInstanceType, TransformInstanceCount: activities.DefaultTransformInstanceCount,
		Hyperparameters: activities.DefaultHyperparameters(),
		Functions:       activities.Functions{InitializeTraining: "initialize-training", InitializeInference: "initialize-inference", MonitorPerformance: "monitor-performance"},
	}
	ac.Hyperparameters["max_depth"] = "6"
	ac.MaxRuntime = 3600e9
	var want bytes.Buffer
	require.NoError(t, parity.Emit(&want, parity.BatchInferencePipeline, parity.Config{Activities: ac, Region: localdefaults.Region, AccountID: localdefaults.AccountID}))
	require.JSONEq(t, want.String(), out)
	require.Contains(t, out, `0.65`)
	require.Contains(t, out, `arn:aws:lambda:us-east-1:000000000000:function:monitor-performance`)
}

func TestParityPolicy(t *testing.T) {
	out, _, err := run(t, nil, "parity", "policy", "--pipeline", "training", "--target", "aws", "--region", "eu-west-1",
		"--account-id", "123456789012", "--bucket", "my-ml-data", "--role-arn", "arn:aws:iam::123456789012:role/sm")
	require.NoError(t, err)
	var doc struct {
		Version   string
		Statement []struct{ Action []string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	var actions []string
	for _, s := range doc.Statement {
		actions = append(actions, s.Action...)
	}
	require.Contains(t, actions, "sagemaker:CreateTrainingJob")
	require.Contains(t, actions, "iam:PassRole")
}

func TestParityBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"parity"}, "needs a ACTION argument"},
		{[]string{"parity", "frob"}, `unknown action "frob"`},
		{[]string{"parity", "emit"}, "--pipeline is required"},
		{[]string{"parity", "emit", "--pipeline", "inference"}, "--pipeline"},
		{[]string{"parity", "emit", "--pipeline", "training", "--threshold", "2"}, "--threshold \"2\" must be a number in [0, 1]"},
		{[]string{"parity", "emit", "--pipeline", "training", "--target", "aws", "--region", "us-west-2", "--account-id", "123456789012"}, "--bucket (MDLC_BUCKET) is required"},
		{[]string{"parity", "emit", "--pipeline", "training", "--target", "aws", "--account-id", "123456789012", "--bucket", "b-1", "--role-arn", "arn:aws:iam::123456789012:role/x"}, "--region (AWS_REGION) is required"},
		{[]string{"parity", "policy", "--pipeline", "training", "--account-id", "12"}, "12-digit AWS account ID"},
		{[]string{"parity", "deploy"}, "localaws has no Step Functions"},
		{[]string{"parity", "deploy", "--target", "aws", "--region", "us-west-2", "--account-id", "123456789012", "--bucket", "b-1", "--role-arn", "arn:aws:iam::123456789012:role/x"}, "--state-machine-role-arn (MDLC_SFN_ROLE_ARN) is required"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, _, err := run(t, nil, tc.args...)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, ExitUsage, ExitCode(err))
		})
	}
}
