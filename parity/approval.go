package parity

import (
	"fmt"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/mdlc/mdlc/activities"
	"github.com/mdlc/mdlc/workflows"
)

// States of the training state machine's wait for a person's decision (the Training workflow's Wait for
// Approval step).
const (
	StateApprovalPending    = "Approval Pending?"
	StateApprovalDecided    = workflows.StepWaitApproval + ": Decided"
	StateApprovalRejected   = workflows.StepWaitApproval + ": Rejected"
	StateApprovalNoDecision = workflows.StepWaitApproval + ": No Decision"
	StateFinalizeApproval   = "Finalize After Approval"
	// ErrorRejected is the error `starter reject` completes the wait's task token with (SendTaskFailure).
	ErrorRejected = "mdlc.Rejected"
	// taskTokenPath is the context object's task token of a .waitForTaskToken Task.
	taskTokenPath = "$$.Task.Token"
)

// trainingResult selects the execution's output: the fields of the Training workflow's result that Step
// Functions knows.
func trainingResult() selector {
	return selector{
		"ModelName": "$.ModelName", "DataDate": "$.DataDate",
		"TrainingJobName": "$.Training.TrainingJobName", "ModelArtifacts": "$.Training.ModelArtifacts",
		"SageMakerModelName": "$.Training.TrainingJobName", "ModelPackageArn": "$.Package.ModelPackageArn",
		"ApprovalStatus": "$.ApprovalStatus",
	}
}

// approvalStates adds the wait for a person's decision after Register Model, as the Training workflow
// waits for a version it registered PendingManualApproval; a version registered Approved goes on to next.
//
// Wait for Approval is a .waitForTaskToken Task: it writes its task token to the bucket
// (activities.ApprovalTokenKey of the package ARN: a token does not fit the package's customer metadata) and
// waits, for at most the approval timeout, for `starter approve` (SendTaskSuccess with the
// workflows.ApprovalOutcome) or `starter reject` (SendTaskFailure with ErrorRejected and the
// ApprovalDescription as cause), which first record the decision in the registry. At the timeout
// (States.Timeout) the version stays PendingManualApproval and the execution succeeds with the decision
// NoDecision, as the workflow completes. Unlike the workflow, the state machine does not see a decision made
// straight in the registry (the SageMaker console): Step Functions has no way to wait on the registry but a
// poll loop of Wait states, which would fill the execution's history.
func (b *builder) approvalStates(next string) {
	timeout := b.cfg.Activities.ApprovalTimeout
	if timeout < time.Second || timeout%time.Second != 0 {
		b.fail(fmt.Errorf("approval timeout %s is not a whole number of seconds (at least 1)", timeout))
	}
	b.add(StateApprovalPending, &Choice{
		Comment: "A version registered PendingManualApproval waits for a person's decision.",
		Choices: []ChoiceRule{{Variable: "$.ApprovalStatus", StringEquals: ptr(string(smtypes.ModelApprovalStatusPendingManualApproval)), Next: workflows.StepWaitApproval}},
		Default: next,
	})
	b.add(workflows.StepWaitApproval, &Task{
		Comment:  "Keeps the task token in the bucket, keyed by the package ARN, for `starter approve/reject` (SendTaskSuccess/SendTaskFailure).",
		Resource: b.cfg.serviceARN("aws-sdk:s3:putObject.waitForTaskToken"),
		Parameters: b.tmpl(struct{ Bucket, Key, Body, ContentType string }{
			Bucket:      b.cfg.Activities.Bucket,
			Key:         ref(fmt.Sprintf("States.Format('%s{}', $.Package.ModelPackageArn)", activities.ApprovalTokenPrefix)),
			Body:        ref(taskTokenPath),
			ContentType: "text/plain",
		}),
		ResultPath:     "$.Approval",
		TimeoutSeconds: int(timeout / time.Second),
		Catch: []Catcher{
			{ErrorEquals: []string{"States.Timeout"}, Next: StateApprovalNoDecision, ResultPath: NullPath},
			{ErrorEquals: []string{ErrorRejected}, Next: StateApprovalRejected, ResultPath: "$.Rejection"},
			catchAll(),
		},
		Next: StateApprovalDecided,
	})
	b.add(StateApprovalRejected, &Pass{
		Parameters: b.tmpl(map[string]string{"Decision": string(smtypes.ModelApprovalStatusRejected), "Via": workflows.ApprovalViaRun,
			"Description": ref("$.Rejection.Cause")}),
		ResultPath: "$.Approval",
		Next:       StateApprovalDecided,
	})
	b.add(StateApprovalDecided, &Pass{
		Comment:    "The version's status is the decision.",
		InputPath:  "$.Approval.Decision",
		ResultPath: "$.ApprovalStatus",
		Next:       StateFinalizeApproval,
	})
	b.add(StateApprovalNoDecision, &Pass{
		Comment:    "Nobody decided within the approval timeout: the version stays PendingManualApproval.",
		Result:     b.lit(map[string]string{"Decision": workflows.ApprovalNoDecision, "Via": workflows.ApprovalViaTimeout}),
		ResultPath: "$.Approval",
		Next:       StateFinalizeApproval,
	})
	b.add(StateFinalizeApproval, &Pass{
		Comment:    "The execution's output, with how the wait for a decision ended.",
		Parameters: b.sel(withApproval(trainingResult())),
		End:        true,
	})
}

// withApproval is s with the outcome of the wait for a decision.
func withApproval(s selector) selector {
	s["Approval"] = "$.Approval"
	return s
}
