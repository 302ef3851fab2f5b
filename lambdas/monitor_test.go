package lambdas

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/mdlc/mdlc/lambdas/contract"
)

const (
	predURI   = "s3://mdlc-data/output-data/2019-11-01/run/holdout_data.csv.out"
	targetURI = "s3://mdlc-data/input-data/2019-11-01/holdout_target/holdout_target.csv"
	predKey   = "output-data/2019-11-01/run/holdout_data.csv.out"
	targetKey = "input-data/2019-11-01/holdout_target/holdout_target.csv"
)

func monitorS3(pred, target string) *fakeS3 {
	return newFakeS3(testBucket, map[string]string{predKey: pred, targetKey: target})
}

func TestMonitorPerformance(t *testing.T) {
	tests := []struct {
		name, pred, target string
		want               float64
	}{
		{"sklearn example", "0.1\n0.4\n0.35\n0.8\n", "0\n0\n1\n1\n", 0.75},
		{"crlf and trailing blank lines", "0.1\r\n0.4\r\n0.35\r\n0.8\r\n\r\n", "0\r\n0\r\n1\r\n1\r\n", 0.75},
		{"no final newline", "0.9\n0.1", "1\n0", 1},
		{"float targets", "0.2\n0.7\n0.7\n", "0.0\n1.0\n0.0\n", 0.75},
		{"all predictions equal", "0.5\n0.5\n0.5\n", "1\n0\n1\n", 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := New(monitorS3(tt.pred, tt.target)).MonitorPerformance(context.Background(),
				contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
			if err != nil {
				t.Fatalf("MonitorPerformance: %v", err)
			}
			if math.Abs(out.ModelPerformance-tt.want) > 1e-15 {
				t.Errorf("ModelPerformance = %v, want %v", out.ModelPerformance, tt.want)
			}
		})
	}
}

func TestMonitorPerformanceErrors(t *testing.T) {
	good := contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI}
	tests := []struct {
		name         string
		event        contract.MonitorEvent
		pred, target string
		fail         error
		wantType     string
		wantMsg      string
	}{
		{"empty prediction uri", contract.MonitorEvent{TargetInput: targetURI}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorInvalidInput, "PredictionInput"},
		{"http uri", contract.MonitorEvent{PredictionInput: "https://example.com/p.csv", TargetInput: targetURI}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorInvalidInput, "want s3://bucket/key"},
		{"uri without key", contract.MonitorEvent{PredictionInput: predURI, TargetInput: "s3://mdlc-data/"}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorInvalidInput, "no object key"},
		{"uri with bad bucket", contract.MonitorEvent{PredictionInput: "s3://Bad_Bucket/p", TargetInput: targetURI}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorInvalidInput, "Bad_Bucket"},
		{"missing prediction object", contract.MonitorEvent{PredictionInput: predURI + "x", TargetInput: targetURI}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorDataNotFound, predURI + "x"},
		{"missing target object", contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI + "x"}, "0.1\n0.9\n", "0\n1\n", nil, contract.ErrorDataNotFound, targetURI + "x"},
		{"missing bucket", contract.MonitorEvent{PredictionInput: "s3://nobucket/p", TargetInput: "s3://nobucket/t"}, "", "", nil, contract.ErrorDataNotFound, "s3://nobucket/t"},
		{"more predictions", good, "0.1\n0.9\n0.5\n", "0\n1\n", nil, contract.ErrorInvalidData, "have 3 rows but target " + targetURI + " has 2"},
		{"fewer predictions", good, "0.1\n", "0\n1\n", nil, contract.ErrorInvalidData, "have 1 rows but target " + targetURI + " has 2"},
		{"non-numeric prediction", good, "0.1\nabc\n", "0\n1\n", nil, contract.ErrorInvalidData, "predictions " + predURI + `: line 2: "abc" is not a number`},
		{"two columns", good, "0.1\n0.9,0.1\n", "0\n1\n", nil, contract.ErrorInvalidData, "line 2: want one value"},
		{"header in target", good, "0.1\n0.9\n", "label\n0\n1\n", nil, contract.ErrorInvalidData, "target " + targetURI + ": line 1"},
		{"NaN prediction", good, "NaN\n0.9\n", "0\n1\n", nil, contract.ErrorInvalidData, "line 1"},
		{"Inf prediction", good, "0.1\ninf\n", "0\n1\n", nil, contract.ErrorInvalidData, "line 2"},
		{"target 2", good, "0.1\n0.9\n", "0\n2\n", nil, contract.ErrorInvalidData, "line 2"},
		{"empty predictions", good, "", "0\n1\n", nil, contract.ErrorInvalidData, "predictions " + predURI + ": no values"},
		{"empty target", good, "0.1\n", "\n", nil, contract.ErrorInvalidData, "target " + targetURI + ": no values"},
		{"only positives", good, "0.1\n0.9\n", "1\n1\n", nil, contract.ErrorUndefinedMetric, "single class"},
		{"only negatives", good, "0.1\n0.9\n", "0\n0.0\n", nil, contract.ErrorUndefinedMetric, "single class"},
		{"throttled", good, "0.1\n0.9\n", "0\n1\n", &smithy.GenericAPIError{Code: "SlowDown"}, contract.ErrorS3, "SlowDown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s3 := monitorS3(tt.pred, tt.target)
			s3.fail = tt.fail
			_, err := New(s3).MonitorPerformance(context.Background(), tt.event)
			checkError(t, err, tt.wantType, tt.wantMsg)
		})
	}
}

func TestMonitorPerformanceBrokenBody(t *testing.T) {
	// A body that breaks off mid-stream is a transient S3 failure, not bad data.
	s3 := &brokenBodyS3{fakeS3: monitorS3("0.1\n0.9\n", "0\n1\n")}
	_, err := New(s3).MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
	checkError(t, err, contract.ErrorS3, "read target")
	if !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("error %q does not name the cause", err)
	}
}

// FuzzMonitorPerformance checks that no pair of files makes the handler panic, and that it either returns an
// AUC in [0, 1] or a typed error.
func FuzzMonitorPerformance(f *testing.F) {
	f.Add("0.1\n0.9\n", "0\n1\n")
	f.Add("0.5,\n", "1\n")
	f.Add("", "")
	f.Add("1e999\n-0\n", "0\n1\r\n")
	f.Add("0.3\n\n0.2\n", "0\n1\n1\n")
	f.Fuzz(func(t *testing.T, pred, target string) {
		out, err := New(monitorS3(pred, target)).MonitorPerformance(context.Background(),
			contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI})
		if err != nil {
			if typ := errorType(err); typ != contract.ErrorInvalidData && typ != contract.ErrorUndefinedMetric {
				t.Fatalf("error type %q (%v)", typ, err)
			}
			return
		}
		if !(out.ModelPerformance >= 0 && out.ModelPerformance <= 1) {
			t.Fatalf("AUC %v", out.ModelPerformance)
		}
	})
}

// TestMonitorEvaluatesAgainstTheChampion: asked for an evaluation, the function applies the promotion rule
// (equal AUCs with margin 0 promote; a margin above the difference rejects) and writes the evidence in
// SageMaker's model-quality statistics shape where it was told.
func TestMonitorEvaluatesAgainstTheChampion(t *testing.T) {
	const evalKey = "evaluation/2019-11-01/run/evaluation.json"
	champion := contract.Champion{ModelPackageArn: "arn:aws:sagemaker:us-east-1:000000000000:model-package/m/1", ModelPackageVersion: 1, SageMakerModelName: "m-1"}
	for _, tc := range []struct {
		name        string
		championAUC float64
		margin      float64
		want        string
	}{
		{"better promotes", 0.7, 0, contract.DecisionPromoted},
		{"equal with margin 0 promotes", 0.75, 0, contract.DecisionPromoted},
		{"equal with a positive margin rejects", 0.75, 0.01, contract.DecisionRejected},
		{"worse rejects", 0.8, 0, contract.DecisionRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := monitorS3("0.1\n0.4\n0.35\n0.8\n", "0\n0\n1\n1\n") // AUC 0.75
			c := champion
			c.AUC = tc.championAUC
			out, err := New(s3).MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI,
				Evaluation: &contract.EvaluationRequest{OutputS3Uri: "s3://" + testBucket + "/" + evalKey, DataDate: "2019-11-01", Champion: c, PromotionMargin: tc.margin}})
			require.NoError(t, err)
			require.NotNil(t, out.Evaluation)
			require.Equal(t, tc.want, out.Evaluation.Decision, out.Evaluation.Reason)
			var file map[string]any
			require.NoError(t, json.Unmarshal(s3.buckets[testBucket][evalKey], &file))
			require.Equal(t, map[string]any{"value": 0.75, "standard_deviation": "NaN"},
				file["binary_classification_metrics"].(map[string]any)["auc"])
			cc := file["champion_challenger"].(map[string]any)
			require.Equal(t, tc.want, cc["decision"])
			require.Equal(t, tc.championAUC, cc["champion_auc"])
			require.Equal(t, tc.margin, cc["promotion_margin"])
			require.Equal(t, "2019-11-01", cc["data_date"])
		})
	}
}

// TestMonitorRejectsABadEvaluation: a margin or champion AUC out of range, or an output that is no S3 URI, is
// the event's fault (InvalidInput), and nothing is written.
func TestMonitorRejectsABadEvaluation(t *testing.T) {
	for name, req := range map[string]contract.EvaluationRequest{
		"margin":          {OutputS3Uri: "s3://" + testBucket + "/e.json", PromotionMargin: 2, Champion: contract.Champion{AUC: 0.5}},
		"champion":        {OutputS3Uri: "s3://" + testBucket + "/e.json", Champion: contract.Champion{AUC: math.NaN()}},
		"output":          {OutputS3Uri: "e.json", Champion: contract.Champion{AUC: 0.5}},
		"negative margin": {OutputS3Uri: "s3://" + testBucket + "/e.json", PromotionMargin: -0.1, Champion: contract.Champion{AUC: 0.5}},
	} {
		t.Run(name, func(t *testing.T) {
			s3 := monitorS3("0.1\n0.4\n0.35\n0.8\n", "0\n0\n1\n1\n")
			_, err := New(s3).MonitorPerformance(context.Background(), contract.MonitorEvent{PredictionInput: predURI, TargetInput: targetURI, Evaluation: &req})
			var fe *Error
			require.ErrorAs(t, err, &fe)
			require.Equal(t, contract.ErrorInvalidInput, fe.Type, fe.Message)
			require.Empty(t, s3.puts)
		})
	}
}
