package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/parity"
	"github.com/mdlc/mdlc/workflows"
)

const testArn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/2"

// fakeRegistry is a group with one version, 2, of the given status.
type fakeRegistry struct {
	status  string
	updates []*sagemaker.UpdateModelPackageInput
}

func (f *fakeRegistry) ListModelPackages(context.Context, *sagemaker.ListModelPackagesInput, ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error) {
	return &sagemaker.ListModelPackagesOutput{ModelPackageSummaryList: []smtypes.ModelPackageSummary{
		{ModelPackageArn: aws.String(testArn), ModelPackageVersion: aws.Int32(2), ModelApprovalStatus: smtypes.ModelApprovalStatus(f.status)}}}, nil
}

func (f *fakeRegistry) DescribeModelPackage(context.Context, *sagemaker.DescribeModelPackageInput, ...func(*sagemaker.Options)) (*sagemaker.DescribeModelPackageOutput, error) {
	return &sagemaker.DescribeModelPackageOutput{ModelPackageArn: aws.String(testArn), ModelApprovalStatus: smtypes.ModelApprovalStatus(f.status)}, nil
}

func (f *fakeRegistry) UpdateModelPackage(_ context.Context, in *sagemaker.UpdateModelPackageInput, _ ...func(*sagemaker.Options)) (*sagemaker.UpdateModelPackageOutput, error) {
	f.updates = append(f.updates, in)
	f.status = string(in.ModelApprovalStatus)
	return &sagemaker.UpdateModelPackageOutput{}, nil
}

// fakeRuns finds run (nil: none), or fails with findErr; send answers with sendErr or the outcome.
type fakeRuns struct {
	run      *waitingRun
	findErr  error
	sendErr  error
	sent     []workflows.ApprovalRequest
	searched bool
}

func (f *fakeRuns) find(context.Context, string, int32) (*waitingRun, error) {
	f.searched = true
	return f.run, f.findErr
}

func (f *fakeRuns) send(_ context.Context, _ *waitingRun, req workflows.ApprovalRequest) (workflows.ApprovalOutcome, error) {
	f.sent = append(f.sent, req)
	if f.sendErr != nil {
		return workflows.ApprovalOutcome{}, f.sendErr
	}
	return workflows.ApprovalOutcome{Decision: req.Status, Via: workflows.ApprovalViaRun, By: req.By, Description: req.Status + " by " + req.By}, nil
}

// fakeTokens holds the task tokens by key and records what Step Functions was sent.
type fakeTokens struct {
	objects   map[string]string
	successes []*sfn.SendTaskSuccessInput
	failures  []*sfn.SendTaskFailureInput
}

func (f *fakeTokens) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	body, ok := f.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(body))}, nil
}

func (f *fakeTokens) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	delete(f.objects, aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

func (f *fakeTokens) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	f.successes = append(f.successes, in)
	return &sfn.SendTaskSuccessOutput{}, nil
}

func (f *fakeTokens) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	f.failures = append(f.failures, in)
	return &sfn.SendTaskFailureOutput{}, nil
}

func runDecide(t *testing.T, reg *fakeRegistry, runs *fakeRuns, tokens *fakeTokens, d decision) (Decided, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, stdout: &stdout, stderr: &stderr}
	var machines *stateMachineWaits
	if tokens != nil {
		machines = &stateMachineWaits{s3: tokens, sfn: tokens, bucket: "b"}
	}
	err := decide(context.Background(), e, reg, runs, machines, &awsFlags{target: "local"}, &outputFlag{format: outputJSON}, d,
		time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC))
	var res Decided
	if err == nil {
		if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
			t.Fatalf("output %q: %v", stdout.String(), jerr)
		}
	}
	return res, stderr.String(), err
}

var approveAlice = decision{model: "churn", version: 2, status: "Approved", reason: "good", by: "alice"}

// TestDecideThroughTheWaitingRun: a Pending version a run waits for is decided by the run's Update, not by
// the starter in the registry.
func TestDecideThroughTheWaitingRun(t *testing.T) {
	reg, runs := &fakeRegistry{status: "PendingManualApproval"}, &fakeRuns{run: &waitingRun{workflowID: "training-churn-2019-11-01", runID: "r1"}}
	res, _, err := runDecide(t, reg, runs, &fakeTokens{}, approveAlice)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.updates) != 0 {
		t.Errorf("the starter updated the registry itself: %+v", reg.updates)
	}
	if len(runs.sent) != 1 || runs.sent[0] != (workflows.ApprovalRequest{ModelPackageVersion: 2, Status: "Approved", Reason: "good", By: "alice"}) {
		t.Errorf("sent %+v", runs.sent)
	}
	if res.WorkflowID != "training-churn-2019-11-01" || res.RunID != "r1" || res.ApprovalDescription != "Approved by alice" {
		t.Errorf("result %+v", res)
	}
}

// TestDecideRefusedByTheRun: the run's refusal is the command's error, and nothing else is changed.
func TestDecideRefusedByTheRun(t *testing.T) {
	reg := &fakeRegistry{status: "PendingManualApproval"}
	runs := &fakeRuns{run: &waitingRun{workflowID: "w"}, sendErr: errors.New("version 2 of churn was already decided: Rejected by bob")}
	_, _, err := runDecide(t, reg, runs, nil, approveAlice)
	if err == nil || !strings.Contains(err.Error(), "run w (waiting for a decision on version 2 of churn) refused the decision: version 2 of churn was already decided") {
		t.Errorf("error %v", err)
	}
	if len(reg.updates) != 0 {
		t.Errorf("registry updated after the run refused: %+v", reg.updates)
	}
}

// TestDecideInTheRegistryWhenNoRunWaits: with no waiting run (or none findable: a warning), the decision goes
// to the registry; a decided version is not looked for at all.
func TestDecideInTheRegistryWhenNoRunWaits(t *testing.T) {
	for _, runs := range []*fakeRuns{{}, {findErr: errors.New("connection refused")}} {
		reg := &fakeRegistry{status: "PendingManualApproval"}
		res, stderr, err := runDecide(t, reg, runs, nil, approveAlice)
		if err != nil {
			t.Fatal(err)
		}
		if len(reg.updates) != 1 || res.WorkflowID != "" || res.ApprovalDescription != "Approved by alice at 2026-12-07T01:02:03Z: good" {
			t.Errorf("updates %+v, result %+v", reg.updates, res)
		}
		if (runs.findErr != nil) != strings.Contains(stderr, "warning: cannot look for a run waiting for version 2 of churn (connection refused); deciding in the registry") {
			t.Errorf("stderr %q", stderr)
		}
	}
	runs := &fakeRuns{}
	if _, _, err := runDecide(t, &fakeRegistry{status: "Approved"}, runs, nil, approveAlice); err == nil || !strings.Contains(err.Error(), "already Approved") {
		t.Errorf("error %v", err)
	}
	if runs.searched {
		t.Error("looked for a waiting run of a version that is not Pending")
	}
}

// TestDecideCompletesAWaitingStateMachine: after the registry update, a state machine's task token for the
// version is completed — SendTaskSuccess with the outcome for an approval, SendTaskFailure with
// parity.ErrorRejected for a rejection — and deleted; without a token nothing is sent.
func TestDecideCompletesAWaitingStateMachine(t *testing.T) {
	key := activities.ApprovalTokenKey(testArn)
	tokens := &fakeTokens{objects: map[string]string{key: "token-1"}}
	res, _, err := runDecide(t, &fakeRegistry{status: "PendingManualApproval"}, &fakeRuns{}, tokens, approveAlice)
	if err != nil {
		t.Fatal(err)
	}
	if !res.StateMachineWaited || len(tokens.successes) != 1 || aws.ToString(tokens.successes[0].TaskToken) != "token-1" {
		t.Fatalf("result %+v, successes %+v", res, tokens.successes)
	}
	var out workflows.ApprovalOutcome
	if err := json.Unmarshal([]byte(aws.ToString(tokens.successes[0].Output)), &out); err != nil || out.Decision != "Approved" || out.By != "alice" || out.Description != res.ApprovalDescription {
		t.Errorf("output %s (%v)", aws.ToString(tokens.successes[0].Output), err)
	}
	if _, left := tokens.objects[key]; left {
		t.Error("the used token was not deleted")
	}

	tokens.objects[key] = "token-2"
	reject := decision{model: "churn", version: 2, status: "Rejected", reason: "bad labels", by: "bob"}
	res, _, err = runDecide(t, &fakeRegistry{status: "PendingManualApproval"}, &fakeRuns{}, tokens, reject)
	if err != nil {
		t.Fatal(err)
	}
	if !res.StateMachineWaited || len(tokens.failures) != 1 || aws.ToString(tokens.failures[0].Error) != parity.ErrorRejected ||
		aws.ToString(tokens.failures[0].Cause) != res.ApprovalDescription || aws.ToString(tokens.failures[0].TaskToken) != "token-2" {
		t.Errorf("result %+v, failures %+v", res, tokens.failures)
	}

	res, _, err = runDecide(t, &fakeRegistry{status: "PendingManualApproval"}, &fakeRuns{}, tokens, approveAlice)
	if err != nil || res.StateMachineWaited || len(tokens.successes) != 1 {
		t.Errorf("without a token: %v, %+v, %d successes", err, res, len(tokens.successes))
	}
}
