package cli

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/workflows"
)

func TestAttachMismatches(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	train := func(s string) workflows.TrainingInput {
		return workflows.TrainingInput{ModelName: "m", DataDate: "2019-10-01", ApprovalStatus: s}
	}
	infer := func(th *float64) workflows.BatchInferenceInput {
		return workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", Threshold: th}
	}
	for _, tc := range []struct {
		name string
		got  []mismatch
		want []mismatch
	}{
		{"same training request", trainingMismatches(train(""), train("")), nil},
		{"request leaves approval to the default", trainingMismatches(train("PendingManualApproval"), train("")), nil},
		{"request asks for another approval", trainingMismatches(train(""), train("PendingManualApproval")),
			[]mismatch{{"ApprovalStatus", "(the worker's default)", "PendingManualApproval"}}},
		{"explicit approvals differ", trainingMismatches(train("Approved"), train("PendingManualApproval")),
			[]mismatch{{"ApprovalStatus", "Approved", "PendingManualApproval"}}},
		{"another model under the ID", trainingMismatches(workflows.TrainingInput{ModelName: "x", DataDate: "2019-10-01"}, train("")),
			[]mismatch{{"ModelName", `"x"`, `"m"`}}},
		{"same threshold", batchInferenceMismatches(infer(f(0.9)), infer(f(0.9))), nil},
		{"request leaves the threshold to the default", batchInferenceMismatches(infer(f(0.9)), infer(nil)), nil},
		{"request asks for a threshold", batchInferenceMismatches(infer(nil), infer(f(0.9))),
			[]mismatch{{"Threshold", "(the worker's default)", "0.9"}}},
		{"thresholds differ", batchInferenceMismatches(infer(f(0.5)), infer(f(0.9))), []mismatch{{"Threshold", "0.5", "0.9"}}},
		{"request leaves the margin to the default", batchInferenceMismatches(workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", PromotionMargin: f(0.1)}, infer(nil)), nil},
		{"margins differ", batchInferenceMismatches(workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01"},
			workflows.BatchInferenceInput{ModelName: "m", DataDate: "2019-11-01", PromotionMargin: f(0.1)}),
			[]mismatch{{"PromotionMargin", "(the worker's default)", "0.1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, tc.got) })
	}
}
