package activities

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

// TestFindModelPicksTheHighestApprovedVersion: the newest model is the Approved package with the highest
// version, whatever the creation times say (equal after concurrent registrations) and however many pages the
// group's Approved packages take.
func TestFindModelPicksTheHighestApprovedVersion(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	sm.groups["m"] = true
	const approved = 2*maxFindModelPage + 10
	tie := time.Unix(1000, 0)
	for v := int32(1); v <= approved+1; v++ {
		status, created := smtypes.ModelApprovalStatusApproved, tie
		if v > approved-3 {
			created = time.Unix(int64(900-v), 0) // the highest versions look older than the rest
		}
		if v == approved+1 {
			status, created = smtypes.ModelApprovalStatusPendingManualApproval, time.Unix(2000, 0)
		}
		sm.packages = append(sm.packages, &sagemaker.DescribeModelPackageOutput{
			ModelPackageArn:       aws.String(fmt.Sprintf("arn:aws:sagemaker:us-east-1:000000000000:model-package/m/%d", v)),
			ModelPackageGroupName: aws.String("m"), ModelPackageVersion: aws.Int32(v), ModelApprovalStatus: status,
			CustomerMetadataProperties: map[string]string{MetaSageMakerModelName: fmt.Sprintf("m-%d", v)},
			CreationTime:               aws.Time(created),
		})
	}
	got, err := execute[FindModelOutput](t, a.FindModel, FindModelInput{ModelName: "m"})
	require.NoError(t, err)
	require.Equal(t, int32(approved), got.ModelPackageVersion)
	require.Equal(t, fmt.Sprintf("m-%d", approved), got.SageMakerModelName)
}
