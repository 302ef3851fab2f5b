package activities

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"go.temporal.io/sdk/activity"
)

// ErrAlreadyDecided: a decision on a model version that is no longer PendingManualApproval (someone decided
// it first, in a run or straight in the registry). It is stable: the starter matches on it.
const ErrAlreadyDecided = "AlreadyDecided"

// MaxApprovalDescription is SageMaker's limit on a model package's ApprovalDescription, in bytes.
const MaxApprovalDescription = 1024

// ApprovalTokenPrefix is where, in the pipeline's bucket, the training state machine (Step Functions) keeps
// the task token of its Wait for Approval state: one object per model version, ApprovalTokenKey of its package
// ARN, whose body is the token. A token (up to 1024 characters) does not fit a package's customer metadata
// (values up to 256); `starter approve/reject` read it to complete the wait.
const ApprovalTokenPrefix = "approval-tokens/"

// ApprovalTokenKey is the S3 key of the task token of the state machine waiting for a decision on the model
// package packageArn.
func ApprovalTokenKey(packageArn string) string { return ApprovalTokenPrefix + packageArn }

// ApprovalDescription is the ApprovalDescription that records a person's decision on a model version:
// "<status> by <who> at <time, RFC 3339 UTC>: <reason>" (": <reason>" only with a reason). `starter
// approve/reject` and the runs that wait for a decision both write it.
func ApprovalDescription(status, by string, at time.Time, reason string) string {
	s := fmt.Sprintf("%s by %s at %s", status, by, at.UTC().Format(time.RFC3339))
	if reason != "" {
		s += ": " + reason
	}
	return s
}

// ApprovalState is a model version's approval as the registry records it.
type ApprovalState struct {
	// Status is the version's ModelApprovalStatus: Approved, Rejected or PendingManualApproval.
	Status string
	// Description is its ApprovalDescription (who decided and why, when mdlc or a person wrote one).
	Description string `json:",omitempty"`
	// ModifiedAt is when the package was last changed (LastModifiedTime), ModifiedBy who changed it when the
	// registry says (LastModifiedBy: a SageMaker Studio user profile; empty for API callers).
	ModifiedAt time.Time `json:",omitempty"`
	ModifiedBy string    `json:",omitempty"`
}

// WaitForApprovalInput names the model version whose decision a run waits for.
type WaitForApprovalInput struct {
	ModelPackageArn string
}

// WaitForApproval waits until the model version is no longer PendingManualApproval — a decision made in the
// SageMaker console, with `aws sagemaker update-model-package`, or by the run itself — and returns its
// approval. It describes the package every PollInterval (the first polls sooner, see Config.poll) inside the
// activity, so a week's wait costs the workflow history no events, and heartbeats every HeartbeatInterval so
// that a dead worker is noticed and a cancellation (the run's decision arrived by an Update, the approval
// timeout, a cancelled run) reaches it promptly. A package that does not exist is a non-retryable error.
func (a *Activities) WaitForApproval(ctx context.Context, in WaitForApprovalInput) (ApprovalState, error) {
	logger := activity.GetLogger(ctx)
	defer a.keepAlive(ctx)()
	for n := 0; ; n++ {
		st, err := a.approvalState(ctx, in.ModelPackageArn)
		if err != nil {
			return ApprovalState{}, err
		}
		if st.Status != string(smtypes.ModelApprovalStatusPendingManualApproval) {
			logger.Info("Model version decided in the registry", "ModelPackageArn", in.ModelPackageArn, "Status", st.Status)
			return st, nil
		}
		select {
		case <-ctx.Done():
			return ApprovalState{}, ctx.Err()
		case <-time.After(a.cfg.poll(n, rand.Float64)):
		}
	}
}

// DecideApprovalInput is a person's decision on a model version, to record in the registry.
type DecideApprovalInput struct {
	ModelPackageArn string
	// Status is Approved or Rejected; Description the ApprovalDescription that records who decided, when and
	// why (see ApprovalDescription).
	Status      string
	Description string
}

// DecideApproval records the decision with UpdateModelPackage, if the version is still PendingManualApproval.
// A version already decided is refused with a non-retryable ErrAlreadyDecided error that says how; a retry that
// finds its own decision recorded (same status and description) returns it.
func (a *Activities) DecideApproval(ctx context.Context, in DecideApprovalInput) (ApprovalState, error) {
	defer a.keepAlive(ctx)()
	st, err := a.approvalState(ctx, in.ModelPackageArn)
	if err != nil {
		return ApprovalState{}, err
	}
	if st.Status == in.Status && st.Description == in.Description {
		return st, nil
	}
	if st.Status != string(smtypes.ModelApprovalStatusPendingManualApproval) {
		return ApprovalState{}, nonRetryable(ErrAlreadyDecided, "model package %q was already decided: it is %s (%s)",
			in.ModelPackageArn, st.Status, orNone(st.Description))
	}
	if _, err := a.sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{
		ModelPackageArn:     aws.String(in.ModelPackageArn),
		ModelApprovalStatus: smtypes.ModelApprovalStatus(in.Status),
		ApprovalDescription: aws.String(in.Description),
	}); err != nil {
		return ApprovalState{}, awsError(fmt.Sprintf("update model package %q", in.ModelPackageArn), err)
	}
	return a.approvalState(ctx, in.ModelPackageArn)
}

// approvalState describes the package and returns its approval.
func (a *Activities) approvalState(ctx context.Context, arn string) (ApprovalState, error) {
	desc, err := a.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return ApprovalState{}, awsError(fmt.Sprintf("describe model package %q", arn), err)
	}
	st := ApprovalState{
		Status:      string(desc.ModelApprovalStatus),
		Description: aws.ToString(desc.ApprovalDescription),
		ModifiedAt:  aws.ToTime(desc.LastModifiedTime),
	}
	if u := desc.LastModifiedBy; u != nil {
		st.ModifiedBy = aws.ToString(u.UserProfileName)
	}
	return st, nil
}

func orNone(s string) string {
	if s == "" {
		return "no approval description"
	}
	return s
}
