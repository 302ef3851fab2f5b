// Package auc computes the area under the ROC curve of a binary classifier, the metric scikit-learn's
// roc_auc_score reports: the probability that a random positive scores above a random negative, ties counting
// one half (the Mann–Whitney U statistic divided by the number of positive–negative pairs).
package auc

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// ErrSingleClass reports that the labels hold only positives or only negatives: no positive–negative pair
// exists, so the ROC AUC is undefined (scikit-learn raises an error too). It is never reported as 0 or 0.5.
var ErrSingleClass = errors.New("roc auc is undefined: the target holds a single class")

// ErrNaN reports a NaN score: NaN has no rank, so the metric would be meaningless.
var ErrNaN = errors.New("roc auc is undefined for a NaN score")

// ErrLength reports that scores and labels differ in length.
var ErrLength = errors.New("scores and labels differ in length")

// ROC returns the ROC AUC of scores against labels (true = positive class). It does not modify its arguments;
// it copies the scores, split by class, and is O(n log n).
func ROC(scores []float64, labels []bool) (float64, error) {
	if len(scores) != len(labels) {
		return 0, fmt.Errorf("%w: %d scores, %d labels", ErrLength, len(scores), len(labels))
	}
	npos := 0
	for _, l := range labels {
		if l {
			npos++
		}
	}
	pos := make([]float64, 0, npos)
	neg := make([]float64, 0, len(labels)-npos)
	for i, s := range scores {
		if labels[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	return FromClasses(pos, neg)
}

// FromClasses returns the ROC AUC given the scores of the positive and of the negative examples. It sorts
// both slices in place (concurrently) and then counts, for each positive, the negatives below it (one) and
// equal to it (one half) in a single merge pass. The count is kept in integers (twice U, so half credits stay
// exact) and divided once at the end, so the result is exact to a few ulps for any input size.
func FromClasses(positives, negatives []float64) (float64, error) {
	if len(positives) == 0 || len(negatives) == 0 {
		return 0, fmt.Errorf("%w (%d positives, %d negatives)", ErrSingleClass, len(positives), len(negatives))
	}
	if hasNaN(positives) || hasNaN(negatives) {
		return 0, ErrNaN
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.Sort(negatives) })
	slices.Sort(positives)
	wg.Wait()

	// below: negatives strictly below the current positive; atOrBelow: negatives at or below it.
	var twiceU uint64
	below, atOrBelow := 0, 0
	for _, p := range positives {
		for below < len(negatives) && negatives[below] < p {
			below++
		}
		if atOrBelow < below {
			atOrBelow = below
		}
		for atOrBelow < len(negatives) && negatives[atOrBelow] <= p {
			atOrBelow++
		}
		twiceU += uint64(2*below + (atOrBelow - below))
	}
	pairs := float64(len(positives)) * float64(len(negatives))
	return float64(twiceU) / (2 * pairs), nil
}

func hasNaN(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) {
			return true
		}
	}
	return false
}
