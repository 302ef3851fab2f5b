package auc

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestROCHandChecked(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all equal", []float64{0.5, 0.5, 0.5, 0.5, 0.5}, []bool{false, true, true, false, true}, 0.5},
		// sklearn's docstring example: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) == 0.75
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		// pairs (p,n): (0.5,0.5) tie=0.5, (0.5,0.2)=1, (0.9,0.5)=1, (0.9,0.2)=1 → 3.5/4
		{"one tie", []float64{0.5, 0.2, 0.5, 0.9}, []bool{false, false, true, true}, 0.875},
		// 1 positive at 0.3; negatives 0.3,0.3,0.1 → 0.5+0.5+1 = 2/3
		{"ties across several negatives", []float64{0.3, 0.3, 0.3, 0.1}, []bool{true, false, false, false}, 2.0 / 3},
		{"negative zero equals zero", []float64{math.Copysign(0, -1), 0.0}, []bool{true, false}, 0.5},
		{"infinite scores rank", []float64{math.Inf(-1), math.Inf(1)}, []bool{false, true}, 1},
		{"one pair", []float64{0.4, 0.6}, []bool{true, false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ROC(tt.scores, tt.labels)
			if err != nil {
				t.Fatalf("ROC: %v", err)
			}
			if math.Abs(got-tt.want) > 1e-15 {
				t.Errorf("ROC = %.17g, want %.17g", got, tt.want)
			}
		})
	}
}

func TestROCErrors(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   error
	}{
		{"only positives", []float64{0.1, 0.2}, []bool{true, true}, ErrSingleClass},
		{"only negatives", []float64{0.1, 0.2}, []bool{false, false}, ErrSingleClass},
		{"empty", nil, nil, ErrSingleClass},
		{"length mismatch", []float64{0.1}, []bool{true, false}, ErrLength},
		{"NaN", []float64{math.NaN(), 0.2}, []bool{true, false}, ErrNaN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ROC(tt.scores, tt.labels)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ROC = %v, %v; want error %v", got, err, tt.want)
			}
		})
	}
}

// pairwise is the Mann–Whitney definition, O(P·N): independent of the sort-and-merge in FromClasses.
func pairwise(scores []float64, labels []bool) float64 {
	var sum float64
	var pairs int
	for i, p := range scores {
		if !labels[i] {
			continue
		}
		for j, n := range scores {
			if labels[j] {
				continue
			}
			pairs++
			switch {
			case p > n:
				sum++
			case p == n:
				sum += 0.5
			}
		}
	}
	return sum / float64(pairs)
}

func TestROCMatchesPairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		n := 2 + rng.IntN(40)
		scores := make([]float64, n)
		labels := make([]bool, n)
		levels := 1 + rng.IntN(6) // few levels → many ties
		for j := range n {
			if rng.IntN(3) == 0 {
				scores[j] = float64(rng.IntN(levels)) / float64(levels)
			} else {
				scores[j] = rng.Float64()
			}
			labels[j] = rng.IntN(2) == 0
		}
		labels[0], labels[1] = true, false
		got, err := ROC(scores, labels)
		if err != nil {
			t.Fatalf("case %d: ROC: %v", i, err)
		}
		if want := pairwise(scores, labels); math.Abs(got-want) > 1e-12 {
			t.Fatalf("case %d: ROC = %.17g, pairwise = %.17g\nscores %v\nlabels %v", i, got, want, scores, labels)
		}
	}
}

func TestROCDoesNotModifyInput(t *testing.T) {
	scores := []float64{0.9, 0.1, 0.5}
	labels := []bool{true, false, true}
	if _, err := ROC(scores, labels); err != nil {
		t.Fatal(err)
	}
	if scores[0] != 0.9 || scores[1] != 0.1 || scores[2] != 0.5 {
		t.Errorf("scores changed to %v", scores)
	}
}
