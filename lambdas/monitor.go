package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mdlc/mdlc/lambdas/auc"
	"github.com/mdlc/mdlc/lambdas/column"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// MonitorPerformance streams the target file, then the prediction file, and returns the ROC AUC. Memory is
// about nine bytes per row (a class per row, then a float64 per prediction kept by class); neither file is
// held as text.
func (h *Handlers) MonitorPerformance(ctx context.Context, in contract.MonitorEvent) (contract.MonitorOutput, error) {
	predBucket, predKey, err := parseS3URI("PredictionInput", in.PredictionInput)
	if err != nil {
		return contract.MonitorOutput{}, err
	}
	targetBucket, targetKey, err := parseS3URI("TargetInput", in.TargetInput)
	if err != nil {
		return contract.MonitorOutput{}, err
	}

	var labels []bool
	positives := 0
	err = h.stream(ctx, targetBucket, targetKey, "target", func(r io.Reader, size int64) error {
		// A label line takes at least two bytes ("0\n"): reserving size/2 avoids regrowing the slice.
		labels = make([]bool, 0, min(size/2, 1<<30))
		sc := column.NewLabelScanner(r)
		for sc.Scan() {
			positive := sc.Value() == 1
			if positive {
				positives++
			}
			labels = append(labels, positive)
		}
		return sc.Err()
	})
	if err != nil {
		return contract.MonitorOutput{}, err
	}

	pos := make([]float64, 0, positives)
	neg := make([]float64, 0, len(labels)-positives)
	predictions := 0
	err = h.stream(ctx, predBucket, predKey, "predictions", func(r io.Reader, _ int64) error {
		sc := column.NewScanner(r)
		for sc.Scan() {
			// Past the target's length, keep counting (and checking) for an exact mismatch message.
			if i := predictions; i < len(labels) {
				if labels[i] {
					pos = append(pos, sc.Value())
				} else {
					neg = append(neg, sc.Value())
				}
			}
			predictions++
		}
		return sc.Err()
	})
	if err != nil {
		return contract.MonitorOutput{}, err
	}
	if predictions != len(labels) {
		return contract.MonitorOutput{}, &Error{Type: contract.ErrorInvalidData, Message: fmt.Sprintf(
			"predictions %s have %d rows but target %s has %d", in.PredictionInput, predictions, in.TargetInput, len(labels))}
	}
	labels = nil // let the collector reclaim it during the sort

	v, err := auc.FromClasses(pos, neg)
	switch {
	case errors.Is(err, auc.ErrSingleClass):
		return contract.MonitorOutput{}, &Error{Type: contract.ErrorUndefinedMetric, Message: fmt.Sprintf("target %s: %v", in.TargetInput, err), Err: err}
	case err != nil:
		return contract.MonitorOutput{}, &Error{Type: contract.ErrorInvalidData, Message: fmt.Sprintf("predictions %s: %v", in.PredictionInput, err), Err: err}
	}
	out := contract.MonitorOutput{ModelPerformance: v}
	if in.Evaluation != nil {
		e, err := h.evaluate(ctx, v, *in.Evaluation)
		if err != nil {
			return contract.MonitorOutput{}, err
		}
		out.Evaluation = &e
	}
	return out, nil
}

// evaluate applies the promotion rule (contract.Evaluate) to the challenger's AUC and writes the evidence,
// contract.EvaluationFile, to req.OutputS3Uri. A retry writes the same content.
func (h *Handlers) evaluate(ctx context.Context, auc float64, req contract.EvaluationRequest) (contract.Evaluation, error) {
	bucket, key, err := parseS3URI("Evaluation.OutputS3Uri", req.OutputS3Uri)
	if err != nil {
		return contract.Evaluation{}, err
	}
	var problems []string
	if !contract.ValidThreshold(req.Champion.AUC) {
		problems = append(problems, fmt.Sprintf("Evaluation.Champion.AUC %v must be a number in [0, 1]", req.Champion.AUC))
	}
	if !contract.ValidPromotionMargin(req.PromotionMargin) {
		problems = append(problems, fmt.Sprintf("Evaluation.PromotionMargin %v must be a number in [0, 1]", req.PromotionMargin))
	}
	if len(problems) > 0 {
		return contract.Evaluation{}, invalidInput("invalid event: %s", strings.Join(problems, "; "))
	}
	e := contract.Evaluate(auc, req)
	body, err := json.MarshalIndent(contract.NewEvaluationFile(e, req), "", "  ")
	if err != nil {
		return contract.Evaluation{}, &Error{Type: contract.ErrorInternal, Message: fmt.Sprintf("encode evaluation: %v", err), Err: err}
	}
	_, err = h.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(append(body, '\n')), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return contract.Evaluation{}, s3Error("write evaluation", req.OutputS3Uri, err)
	}
	return e, nil
}

// stream gets one object and hands its body and its length (0 if unknown) to read; what names the file in
// errors.
func (h *Handlers) stream(ctx context.Context, bucket, key, what string, read func(body io.Reader, size int64) error) error {
	uri := s3URI(bucket, key)
	out, err := h.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return s3Error("get "+what, uri, err)
	}
	defer out.Body.Close()
	err = read(out.Body, max(aws.ToInt64(out.ContentLength), 0))
	var lineErr *column.LineError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &lineErr), errors.Is(err, column.ErrEmpty):
		return &Error{Type: contract.ErrorInvalidData, Message: fmt.Sprintf("%s %s: %v", what, uri, err), Err: err}
	default:
		// The body broke off mid-stream: a transient S3 or network failure.
		return &Error{Type: contract.ErrorS3, Message: fmt.Sprintf("read %s %s: %v", what, uri, err), Err: err}
	}
}
