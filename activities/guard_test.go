package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"
)

// TestCheckRetrainGuard: the cooldown and the daily cap, each alone and together, decided from the creation
// times of the group's versions (any status) relative to the activity's clock.
func TestCheckRetrainGuard(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		cooldown  time.Duration
		maxPerDay int
		ago       []time.Duration // creation times of the group's versions, before now
		wantRule  string
		wantWhy   string
		wantCalls int
	}{
		{"both off: no call", 0, 0, []time.Duration{time.Minute}, "", "", 0},
		{"no versions", 24 * time.Hour, 2, nil, "", "", 1},
		{"cooldown: version inside", 24 * time.Hour, 0, []time.Duration{48 * time.Hour, 3 * time.Hour}, GuardCooldown, "registered 3h0m0s ago, within the retrain cooldown of 24h0m0s", 1},
		{"cooldown: versions outside", time.Hour, 0, []time.Duration{2 * time.Hour, 30 * time.Hour}, "", "", 1},
		{"cap: reached", 0, 2, []time.Duration{20 * time.Hour, 10 * time.Hour, 30 * time.Hour}, GuardCap, "2 versions of m were registered in the last 24h, the cap is 2", 1},
		{"cap: below", 0, 3, []time.Duration{20 * time.Hour, 10 * time.Hour, 30 * time.Hour}, "", "", 1},
		{"cooldown wins over cap", time.Hour, 1, []time.Duration{time.Minute}, GuardCooldown, "within the retrain cooldown of 1h0m0s", 1},
		{"cap with cooldown passed", time.Hour, 1, []time.Duration{2 * time.Hour}, GuardCap, "1 versions of m were registered in the last 24h, the cap is 1", 1},
		{"cooldown longer than a day", 72 * time.Hour, 0, []time.Duration{50 * time.Hour}, GuardCooldown, "registered 50h0m0s ago", 1},
		{"cooldown reads one page", 24 * time.Hour, 0, manyAgo(250), GuardCooldown, "registered 1m0s ago", 1},
		{"cap counts past a page and stops once reached", 0, 150, manyAgo(250), GuardCap, "200 versions", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := newFakeSageMaker()
			sm.groups["m"] = true
			for i, ago := range tc.ago {
				sm.packages = append(sm.packages, &sagemaker.DescribeModelPackageOutput{
					ModelPackageArn:       aws.String(fmt.Sprintf("arn:aws:sagemaker:us-east-1:000000000000:model-package/m/%d", i+1)),
					ModelPackageGroupName: aws.String("m"), ModelPackageVersion: aws.Int32(int32(i + 1)),
					ModelApprovalStatus: smtypes.ModelApprovalStatusRejected, CreationTime: aws.Time(now.Add(-ago)),
				})
			}
			cfg := testConfig()
			cfg.RetrainCooldown, cfg.MaxRetrainsPerDay = tc.cooldown, tc.maxPerDay
			a, err := New(sm, &fakeLambda{}, cfg)
			require.NoError(t, err)
			a.now = func() time.Time { return now }
			got, err := execute[RetrainGuardOutput](t, a.CheckRetrainGuard, RetrainGuardInput{ModelName: "m"})
			require.NoError(t, err)
			require.Equal(t, tc.wantRule, got.Rule)
			if tc.wantWhy == "" {
				require.Empty(t, got.Suppressed)
			} else {
				require.Contains(t, got.Suppressed, tc.wantWhy)
			}
			require.Equal(t, now, got.Now)
			require.Equal(t, tc.wantCalls, sm.listCalls)
		})
	}
}

func manyAgo(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Minute
	}
	return out
}

// TestCheckRetrainGuardMissingGroup: a group SageMaker does not know has nothing registered: allowed.
func TestCheckRetrainGuardMissingGroup(t *testing.T) {
	sm := &missingGroupSageMaker{fakeSageMaker: newFakeSageMaker()}
	cfg := testConfig()
	cfg.RetrainCooldown = time.Hour
	a, err := New(sm, &fakeLambda{}, cfg)
	require.NoError(t, err)
	got, err := execute[RetrainGuardOutput](t, a.CheckRetrainGuard, RetrainGuardInput{ModelName: "m"})
	require.NoError(t, err)
	require.Empty(t, got.Suppressed)
}

type missingGroupSageMaker struct{ *fakeSageMaker }

func (missingGroupSageMaker) ListModelPackages(_ context.Context, _ *sagemaker.ListModelPackagesInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListModelPackagesOutput, error) {
	return nil, apiErr("ValidationException", "ModelPackageGroup m does not exist")
}
