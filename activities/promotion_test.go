package activities

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// TestRegisterEvaluatedVersion: a version evaluated against a champion is registered with its evidence — the
// evaluation JSON as ModelMetrics.ModelQuality.Statistics, both AUCs and the decision in the metadata — and
// the reason as its ApprovalDescription; a retry that finds the package sets the description again.
func TestRegisterEvaluatedVersion(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	e := contract.Evaluate(0.62, contract.EvaluationRequest{OutputS3Uri: "s3://mdlc-test/evaluation/2019-11-01/r/evaluation.json", DataDate: "2019-11-01",
		Champion: contract.Champion{ModelPackageArn: "arn:p/1", ModelPackageVersion: 1, SageMakerModelName: "m-1", AUC: 0.7}})
	reg := RegisterModelInput{Group: "m", SageMakerModelName: "m-2", ModelDataURL: "s3://b/2/model.tar.gz", TrainingJobName: "m-2",
		DataDate: "2019-11-01", ApprovalStatus: contract.ApprovalRejected, RunKey: "k", Evaluation: &e}
	out, err := execute[RegisterModelOutput](t, a.RegisterModel, reg)
	require.NoError(t, err)
	require.Equal(t, contract.ApprovalRejected, out.ApprovalStatus)

	p := sm.packages[0]
	require.Equal(t, EvaluationContentType, aws.ToString(p.ModelMetrics.ModelQuality.Statistics.ContentType))
	require.Equal(t, e.S3Uri, aws.ToString(p.ModelMetrics.ModelQuality.Statistics.S3Uri))
	require.Equal(t, "0.62", p.CustomerMetadataProperties[MetaAUC])
	require.Equal(t, "0.7", p.CustomerMetadataProperties[MetaChampionAUC])
	require.Equal(t, contract.DecisionRejected, p.CustomerMetadataProperties[MetaDecision])
	require.Equal(t, "2019-11-01", p.CustomerMetadataProperties[MetaDataDate])
	require.Equal(t, e.Reason, aws.ToString(p.ApprovalDescription))
	require.Contains(t, e.Reason, "challenger AUC 0.6200 < champion AUC 0.7000")

	p.ApprovalDescription = nil // as if the first attempt failed after creating the package
	again, err := execute[RegisterModelOutput](t, a.RegisterModel, reg)
	require.NoError(t, err)
	require.Equal(t, out, again)
	require.Len(t, sm.packages, 1)
	require.Equal(t, e.Reason, aws.ToString(p.ApprovalDescription))

	_, err = execute[FindModelOutput](t, a.FindModel, FindModelInput{ModelName: "m"})
	requireAppError(t, err, ErrModelNotFound, true) // a Rejected version is never served
}

// TestRegisterUnevaluatedVersionAsBefore: without an evaluation the request has no ModelMetrics, no
// evaluation metadata, and no approval description is written.
func TestRegisterUnevaluatedVersionAsBefore(t *testing.T) {
	sm := newFakeSageMaker()
	a := newTestActivities(t, sm, nil)
	_, err := execute[RegisterModelOutput](t, a.RegisterModel, RegisterModelInput{Group: "m", SageMakerModelName: "m-1",
		ModelDataURL: "s3://b/1/model.tar.gz", TrainingJobName: "m-1", DataDate: "2019-10-01", ApprovalStatus: "Approved", RunKey: "k"})
	require.NoError(t, err)
	p := sm.packages[0]
	require.Nil(t, p.ModelMetrics)
	require.Nil(t, p.ApprovalDescription)
	require.Equal(t, []string{MetaDataDate, MetaRunKey, MetaSageMakerModelName, MetaTrainingJobName}, sortedKeys(p.CustomerMetadataProperties))
}

// TestPromotionMarginConfig: the worker's margin must be a number in [0, 1].
func TestPromotionMarginConfig(t *testing.T) {
	for _, m := range []float64{-0.01, 1.01} {
		c := testConfig()
		c.PromotionMargin = m
		require.ErrorContains(t, c.WithDefaults().Validate(), "promotion margin")
	}
	c := testConfig()
	c.PromotionMargin = 0.05
	require.NoError(t, c.WithDefaults().Validate())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
