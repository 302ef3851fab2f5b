package activities

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

const pendingArn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/m/2"

func pendingPackage(sm *fakeSageMaker) *sagemaker.DescribeModelPackageOutput {
	p := &sagemaker.DescribeModelPackageOutput{
		ModelPackageArn: aws.String(pendingArn), ModelPackageGroupName: aws.String("m"), ModelPackageVersion: aws.Int32(2),
		ModelApprovalStatus: smtypes.ModelApprovalStatusPendingManualApproval, CreationTime: aws.Time(time.Unix(1, 0)),
	}
	sm.packages = append(sm.packages, p)
	return p
}

// TestWaitForApprovalReturnsTheRegistrysDecision: the activity polls a Pending version until someone decides
// it in the registry, and returns that decision.
func TestWaitForApprovalReturnsTheRegistrysDecision(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	pendingPackage(sm)
	sm.onPackageDescribe = func(p *sagemaker.DescribeModelPackageOutput, n int) {
		if n == 4 {
			p.ModelApprovalStatus, p.ApprovalDescription = smtypes.ModelApprovalStatusRejected, aws.String("Rejected in the console")
			p.LastModifiedBy = &smtypes.UserContext{UserProfileName: aws.String("alice")}
		}
	}
	got, err := execute[ApprovalState](t, a.WaitForApproval, WaitForApprovalInput{ModelPackageArn: pendingArn})
	require.NoError(t, err)
	require.Equal(t, ApprovalState{Status: "Rejected", Description: "Rejected in the console", ModifiedBy: "alice"}, got)
	require.GreaterOrEqual(t, sm.packageDescribes, 4, "returned before the decision")
}

func TestWaitForApprovalOfAMissingPackageFails(t *testing.T) {
	a := newTestActivities(t, newFakeSageMaker(), nil)
	_, err := execute[ApprovalState](t, a.WaitForApproval, WaitForApprovalInput{ModelPackageArn: pendingArn})
	requireAppError(t, err, "ValidationException", true)
}

// TestDecideApproval: a Pending version is decided with UpdateModelPackage; a retry that finds its own
// decision returns it without a second update; another decision on a decided version is refused.
func TestDecideApproval(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	pendingPackage(sm)
	in := DecideApprovalInput{ModelPackageArn: pendingArn, Status: "Approved",
		Description: ApprovalDescription("Approved", "bob", time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC), "looks good")}
	require.Equal(t, "Approved by bob at 2026-12-07T01:02:03Z: looks good", in.Description)
	got, err := execute[ApprovalState](t, a.DecideApproval, in)
	require.NoError(t, err)
	require.Equal(t, "Approved", got.Status)
	require.Equal(t, in.Description, got.Description)
	require.Equal(t, 1, sm.updates)

	got, err = execute[ApprovalState](t, a.DecideApproval, in)
	require.NoError(t, err, "a retry of the same decision")
	require.Equal(t, "Approved", got.Status)
	require.Equal(t, 1, sm.updates)

	_, err = execute[ApprovalState](t, a.DecideApproval, DecideApprovalInput{ModelPackageArn: pendingArn, Status: "Rejected", Description: "Rejected by eve"})
	app := requireAppError(t, err, ErrAlreadyDecided, true)
	require.Contains(t, app.Error(), "already decided: it is Approved (Approved by bob")
	require.Equal(t, 1, sm.updates)
}
