package contract

import (
	"fmt"
	"strconv"
)

// The promotion rule is written once, here: a retrained model (the challenger) is promoted only when its AUC
// on the data date's holdout data reaches the champion's AUC on the same data plus the promotion margin.
// Equal AUCs with a margin of 0 promote (the newer model trained on newer data wins a tie). monitor-performance
// applies it for both engines and returns the bar (champion AUC + margin) that the workflow's and the state
// machine's comparison use.

// Evaluation decisions: the challenger is registered with the requested approval status (Promoted) or
// Rejected.
const (
	DecisionPromoted = "Promoted"
	DecisionRejected = "Rejected"
)

// ApprovalRejected is the approval status of a version that lost to its champion.
const ApprovalRejected = "Rejected"

// PromotionBar is the AUC a challenger must reach: the champion's plus the margin.
func PromotionBar(championAUC, margin float64) float64 { return championAUC + margin }

// Promotes reports whether a challenger with AUC challengerAUC beats the bar (see PromotionBar).
func Promotes(challengerAUC, bar float64) bool { return challengerAUC >= bar }

// Evaluation is a challenger's comparison with its champion, as monitor-performance returns it.
type Evaluation struct {
	// S3Uri is the evaluation JSON (EvaluationFile) the function wrote.
	S3Uri string `json:"S3Uri"`
	// ChallengerAUC and ChampionAUC are the two models' AUCs on the same holdout data.
	ChallengerAUC float64 `json:"ChallengerAUC"`
	ChampionAUC   float64 `json:"ChampionAUC"`
	// PromotionMargin is the margin the decision used, and Bar the AUC the challenger had to reach.
	PromotionMargin float64 `json:"PromotionMargin"`
	Bar             float64 `json:"Bar"`
	// Decision is DecisionPromoted or DecisionRejected.
	Decision string `json:"Decision"`
	// Reason says why, with both AUCs: the model package's ApprovalDescription.
	Reason string `json:"Reason"`
	// ChallengerAUCText and ChampionAUCText are the AUCs as the model package's customer metadata records
	// them (a state machine cannot format numbers).
	ChallengerAUCText string `json:"ChallengerAUCText"`
	ChampionAUCText   string `json:"ChampionAUCText"`
}

// Evaluate applies the promotion rule to a challenger's AUC on the data date's holdout data; s3URI is where
// the evidence goes.
func Evaluate(challengerAUC float64, req EvaluationRequest) Evaluation {
	bar := PromotionBar(req.Champion.AUC, req.PromotionMargin)
	e := Evaluation{
		S3Uri: req.OutputS3Uri, ChallengerAUC: challengerAUC, ChampionAUC: req.Champion.AUC,
		PromotionMargin: req.PromotionMargin, Bar: bar,
		ChallengerAUCText: FormatAUC(challengerAUC), ChampionAUCText: FormatAUC(req.Champion.AUC),
	}
	verdict, cmp := "rejected", "<"
	e.Decision = DecisionRejected
	if Promotes(challengerAUC, bar) {
		verdict, cmp = "promoted", ">="
		e.Decision = DecisionPromoted
	}
	e.Reason = fmt.Sprintf("%s: challenger AUC %.4f %s champion AUC %.4f (version %d) + margin %g on %s",
		verdict, challengerAUC, cmp, req.Champion.AUC, req.Champion.ModelPackageVersion, req.PromotionMargin, req.DataDate)
	return e
}

// FormatAUC writes an AUC as the registry's metadata records it: in full, the shortest decimal that reads
// back as the same number.
func FormatAUC(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// EvaluationFile is the evaluation JSON monitor-performance writes, referenced from the model package's
// ModelMetrics.ModelQuality.Statistics: SageMaker's model-quality statistics shape (what Model Monitor and
// Clarify write and Studio shows), with the champion/challenger comparison beside it.
type EvaluationFile struct {
	Version                     float64               `json:"version"`
	BinaryClassificationMetrics BinaryMetrics         `json:"binary_classification_metrics"`
	ChampionChallenger          ChampionChallengerLog `json:"champion_challenger"`
}

// BinaryMetrics is the binary-classification part of the model-quality statistics.
type BinaryMetrics struct {
	AUC Metric `json:"auc"`
}

// Metric is one statistic: its value and standard deviation ("NaN": one evaluation has none).
type Metric struct {
	Value             float64 `json:"value"`
	StandardDeviation string  `json:"standard_deviation"`
}

// ChampionChallengerLog records the comparison in the evaluation file.
type ChampionChallengerLog struct {
	DataDate                string  `json:"data_date"`
	ChampionModelPackageArn string  `json:"champion_model_package_arn"`
	ChampionVersion         int32   `json:"champion_version"`
	ChampionAUC             float64 `json:"champion_auc"`
	PromotionMargin         float64 `json:"promotion_margin"`
	Decision                string  `json:"decision"`
	Reason                  string  `json:"reason"`
}

// NewEvaluationFile is the evaluation JSON of e.
func NewEvaluationFile(e Evaluation, req EvaluationRequest) EvaluationFile {
	return EvaluationFile{
		BinaryClassificationMetrics: BinaryMetrics{AUC: Metric{Value: e.ChallengerAUC, StandardDeviation: "NaN"}},
		ChampionChallenger: ChampionChallengerLog{
			DataDate: req.DataDate, ChampionModelPackageArn: req.Champion.ModelPackageArn, ChampionVersion: req.Champion.ModelPackageVersion,
			ChampionAUC: e.ChampionAUC, PromotionMargin: e.PromotionMargin, Decision: e.Decision, Reason: e.Reason,
		},
	}
}
