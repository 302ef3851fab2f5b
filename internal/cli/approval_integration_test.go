package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mdlc/mdlc/internal/cli"
	"github.com/mdlc/mdlc/internal/stack"
	"github.com/mdlc/mdlc/workflows"
)

// awsCLI is Debian's AWS CLI, an independent client for the registry (CI installs it: .ci/run).
const awsCLI = "/usr/bin/aws"

// runAWSCLI runs the AWS CLI against s's localaws with throwaway credentials and configuration.
func runAWSCLI(t *testing.T, ctx context.Context, s *stack.Stack, args ...string) string {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("this test needs the AWS CLI at %s (apt-get install awscli): %v", awsCLI, err)
	}
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, awsCLI, append([]string{"--endpoint-url", s.LocalAWS, "--output", "json"}, args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "aws %v:\n%s", args, out)
	return string(out)
}

// waitingFor starts (without waiting) a Training run of model on date that registers its version
// PendingManualApproval, and returns its status once it waits for a decision (Wait for Approval running).
func waitingFor(t *testing.T, ctx context.Context, s *stack.Stack, model, date string) cli.Summary {
	t.Helper()
	r := runCLI(ctx, s, "train", "--model", model, "--data-date", date, "--approval-status", "PendingManualApproval")
	require.NoError(t, r.err, r.String())
	id := workflows.TrainingWorkflowID(model, date)
	var sum cli.Summary
	for {
		sum = statusJSON(t, s, id)
		for _, st := range sum.Steps {
			if st.Name == workflows.StepWaitApproval && st.State == workflows.StepRunning {
				return sum
			}
		}
		require.Equal(t, "Running", sum.Status, "the run ended before it waited: %+v", sum)
		select {
		case <-ctx.Done():
			t.Fatalf("run %s does not wait for a decision: %v; last status %+v", id, ctx.Err(), sum)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// closedSummary waits for run id to close and returns its status.
func closedSummary(t *testing.T, ctx context.Context, s *stack.Stack, id string) cli.Summary {
	t.Helper()
	c, err := s.Client(ctx)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, nil))
	return statusJSON(t, s, id)
}

// TestApprovalWaitEndToEnd: a run that registers its version PendingManualApproval waits; `starter approve`
// sends the decision to the run, which records it in the registry and completes with it; the run refuses an
// Update for another version (nothing recorded); a second decision on the version is refused. Another run's
// wait is ended by a decision made with the AWS CLI straight in the registry.
func TestApprovalWaitEndToEnd(t *testing.T) {
	s := testStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const model = "gated"
	sm := sageMaker(s)

	t.Run("approve through the run", func(t *testing.T) {
		waiting := waitingFor(t, ctx, s, model, "2019-10-01")
		id := waiting.WorkflowID
		require.Contains(t, waiting.Steps[len(waiting.Steps)-1].Detail, "starter approve gated 1")

		// `list --waiting` finds it (visibility catches up with the run's ApprovalStatus a moment later).
		var listed result
		require.Eventually(t, func() bool {
			listed = runCLI(ctx, s, "list", "--model", model, "--waiting")
			return listed.err == nil && regexp.MustCompile(`(?m)^Running \(waiting for approval\)\s+`+regexp.QuoteMeta(id)+`\s`).MatchString(listed.stdout)
		}, time.Minute, 500*time.Millisecond, "last list: %s", &listed)

		r := runCLI(ctx, s, "status", id)
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines, `^\s+Wait for Approval\s+running\s+arn:aws:sagemaker:\S+:model-package/gated/1 version 1 of gated is PendingManualApproval: waiting until `)

		// The run refuses a decision on another version: the validator's message comes back.
		c, err := s.Client(ctx)
		require.NoError(t, err)
		defer c.Close()
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.ApprovalUpdate,
			Args: []any{workflows.ApprovalRequest{ModelPackageVersion: 7, Status: "Approved", By: "mallory"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		require.ErrorContains(t, err, "the run waits for a decision on version 1 of gated, not version 7")

		// Someone follows the run live while it waits: the waiting step, then the decision.
		watched := make(chan result, 1)
		go func() { watched <- runCLI(ctx, s, "watch", id) }()

		r = runCLI(ctx, s, "approve", model, "1", "--reason", "checked the holdout AUC", "--by", "alice", "-o", "json")
		require.NoError(t, r.err, r.String())
		var d cli.Decided
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r.String())
		require.Equal(t, id, d.WorkflowID, "the decision went through the waiting run")
		require.Equal(t, "PendingManualApproval", d.From)
		require.Regexp(t, `^Approved by alice at \S+: checked the holdout AUC$`, d.ApprovalDescription)

		sum := closedSummary(t, ctx, s, id)
		require.Equal(t, "Completed", sum.Status)
		require.Equal(t, "Approved", sum.Training.ApprovalStatus)
		require.Eventually(t, func() bool {
			listed = runCLI(ctx, s, "list", "--model", model, "--waiting")
			return listed.err == nil && !regexp.MustCompile(regexp.QuoteMeta(id)).MatchString(listed.stdout)
		}, time.Minute, 500*time.Millisecond, "a decided run is still listed as waiting: %s", &listed)
		require.NotNil(t, sum.Training.Approval)
		require.Equal(t, workflows.ApprovalViaRun, sum.Training.Approval.Via)
		require.Equal(t, "alice", sum.Training.Approval.By)
		pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(sum.Training.ModelPackageArn)})
		require.NoError(t, err)
		require.Equal(t, "Approved", string(pkg.ModelApprovalStatus))
		require.Equal(t, d.ApprovalDescription, aws.ToString(pkg.ApprovalDescription))

		r = runCLI(ctx, s, "status", id)
		require.NoError(t, r.err, r.String())
		requireInOrder(t, r.lines, `^\s+approval\s+Approved by alice at \S+ \(run update\): checked the holdout AUC$`)
		w := <-watched
		require.NoError(t, w.err, w.String())
		requireInOrder(t, w.lines,
			`^\s+\+`+dur+`\s+Register Model\s+completed .*version 1 \(PendingManualApproval\)`,
			`^\s+\+`+dur+`\s+Wait for Approval\s+started\s+arn:aws:sagemaker:\S+:model-package/gated/1$`,
			`^\s+\+`+dur+`\s+Wait for Approval\s+completed\s+`+dur+`\s+Approved by alice at \S+ \(run update\): checked the holdout AUC$`,
			`^\s+approval\s+Approved by alice`)

		// A duplicate decision is refused: the version is already Approved.
		r = runCLI(ctx, s, "approve", model, "1", "--by", "bob")
		require.Error(t, r.err)
		require.Contains(t, r.err.Error(), "gated version 1 is already Approved (Approved by alice")
	})

	t.Run("decide in the registry with the AWS CLI", func(t *testing.T) {
		waiting := waitingFor(t, ctx, s, model, "2019-11-01")
		arn := waiting.Steps[len(waiting.Steps)-1].JobName
		require.Regexp(t, `model-package/gated/2$`, arn)
		runAWSCLI(t, ctx, s, "sagemaker", "update-model-package", "--model-package-arn", arn,
			"--model-approval-status", "Rejected", "--approval-description", "Rejected in the console: bad labels")

		sum := closedSummary(t, ctx, s, waiting.WorkflowID)
		require.Equal(t, "Completed", sum.Status)
		require.Equal(t, "Rejected", sum.Training.ApprovalStatus)
		require.Equal(t, workflows.ApprovalViaRegistry, sum.Training.Approval.Via)
		require.Equal(t, "Rejected in the console: bad labels", sum.Training.Approval.Description)

		r := runCLI(ctx, s, "reject", model, strconv.Itoa(2), "--reason", "again")
		require.Error(t, r.err)
		require.Contains(t, r.err.Error(), "gated version 2 is already Rejected (Rejected in the console: bad labels)")
	})
}
