package parity

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// TestWaitForApprovalShape checks the emitted wait for a person's decision statically, since the ASL engine
// of the parity suite cannot complete a task-token wait (parity/README.md): after Register Model a version
// registered PendingManualApproval goes to a .waitForTaskToken Task that keeps its token where `starter
// approve/reject` look for it, waits as long as the workflow's timer (the approval timeout), ends at the
// timeout with no decision, takes a rejection (SendTaskFailure with ErrorRejected) as a decision, and fails
// on anything else; an Approved version goes straight to Finalize.
func TestWaitForApprovalShape(t *testing.T) {
	cfg := goldenConfig()
	cfg.Activities.ApprovalTimeout = 36 * time.Hour
	m, err := Build(TrainingPipeline, cfg)
	if err != nil {
		t.Fatal(err)
	}
	state := func(name string) State {
		t.Helper()
		s, ok := m.States.Lookup(name)
		if !ok {
			t.Fatalf("no state %q", name)
		}
		return s
	}
	if next := state(StateCreatePackage).(*Task).Next; next != StateApprovalPending {
		t.Errorf("%s goes to %q, want %q", StateCreatePackage, next, StateApprovalPending)
	}
	choice := state(StateApprovalPending).(*Choice)
	if len(choice.Choices) != 1 || choice.Choices[0].Variable != "$.ApprovalStatus" || *choice.Choices[0].StringEquals != "PendingManualApproval" ||
		choice.Choices[0].Next != workflows.StepWaitApproval || choice.Default != StateFinalize {
		t.Errorf("%s: %+v", StateApprovalPending, choice)
	}

	wait := state(workflows.StepWaitApproval).(*Task)
	if want := "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken"; wait.Resource != want {
		t.Errorf("resource %q, want %q", wait.Resource, want)
	}
	var params map[string]string
	if err := json.Unmarshal(wait.Parameters, &params); err != nil {
		t.Fatal(err)
	}
	if params["Body.$"] != taskTokenPath || params["Bucket"] != cfg.Activities.Bucket ||
		params["Key.$"] != "States.Format('"+activities.ApprovalTokenPrefix+"{}', $.Package.ModelPackageArn)" {
		t.Errorf("the token is not kept where starter approve/reject look for it (activities.ApprovalTokenKey): %v", params)
	}
	if want := int((36 * time.Hour).Seconds()); wait.TimeoutSeconds != want {
		t.Errorf("TimeoutSeconds %d, want the approval timeout %d", wait.TimeoutSeconds, want)
	}
	if len(wait.Retry) != 0 {
		t.Errorf("a retried wait would mint a new token nobody holds: Retry %+v", wait.Retry)
	}
	catches := map[string]string{}
	for _, c := range wait.Catch {
		catches[strings.Join(c.ErrorEquals, ",")] = c.Next
	}
	for errName, next := range map[string]string{"States.Timeout": StateApprovalNoDecision, ErrorRejected: StateApprovalRejected, errorsAll: StateHandleError} {
		if catches[errName] != next {
			t.Errorf("Catch %s goes to %q, want %q", errName, catches[errName], next)
		}
	}
	if wait.Catch[len(wait.Catch)-1].ErrorEquals[0] != errorsAll {
		t.Errorf("States.ALL must be the last Catch: %+v", wait.Catch)
	}
	var noDecision map[string]string
	if err := json.Unmarshal(state(StateApprovalNoDecision).(*Pass).Result, &noDecision); err != nil {
		t.Fatal(err)
	}
	if noDecision["Decision"] != workflows.ApprovalNoDecision {
		t.Errorf("the timeout's decision %v, want %s as the workflow's", noDecision, workflows.ApprovalNoDecision)
	}
	for _, name := range []string{StateApprovalNoDecision, StateApprovalDecided} {
		if next := state(name).(*Pass).Next; next != StateFinalizeApproval {
			t.Errorf("%s goes to %q, want %q", name, next, StateFinalizeApproval)
		}
	}
	if d := state(StateApprovalDecided).(*Pass); d.InputPath != "$.Approval.Decision" || d.ResultPath != "$.ApprovalStatus" {
		t.Errorf("%s does not make the decision the version's status: %+v", StateApprovalDecided, d)
	}
}

// TestApprovalTimeoutMustBeWholeSeconds: a timeout ASL cannot state exactly fails the build.
func TestApprovalTimeoutMustBeWholeSeconds(t *testing.T) {
	cfg := goldenConfig()
	cfg.Activities.ApprovalTimeout = 1500 * time.Millisecond
	if _, err := Build(TrainingPipeline, cfg); err == nil || !strings.Contains(err.Error(), "approval timeout 1.5s is not a whole number of seconds") {
		t.Errorf("error %v", err)
	}
}
