package auc

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// python is Debian's interpreter, which has scikit-learn (make deps installs python3-sklearn).
const python = "/usr/bin/python3"

const sklearnScript = `
import sys
from sklearn.metrics import roc_auc_score
for path in sys.argv[1:]:
    y, s = [], []
    with open(path) as f:
        for line in f:
            a, b = line.split(",")
            y.append(int(a)); s.append(float(b))
    print(repr(float(roc_auc_score(y, s))))
`

// TestROCMatchesScikitLearn compares ROC with scikit-learn's roc_auc_score on random data sets of a few
// thousand rows, with and without ties.
func TestROCMatchesScikitLearn(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("this test needs %s with scikit-learn (apt-get install python3-sklearn): %v", python, err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	type dataset struct {
		name   string
		scores []float64
		labels []bool
	}
	gen := func(name string, n int, score func() float64, pPositive float64) dataset {
		d := dataset{name: name, scores: make([]float64, n), labels: make([]bool, n)}
		for i := range n {
			d.scores[i] = score()
			d.labels[i] = rng.Float64() < pPositive
		}
		d.labels[0], d.labels[1] = true, false
		return d
	}
	sets := []dataset{
		gen("continuous", 5000, rng.Float64, 0.5),
		gen("two decimals (many ties)", 4000, func() float64 { return math.Round(rng.Float64()*100) / 100 }, 0.3),
		gen("five levels", 3000, func() float64 { return float64(rng.IntN(5)) / 4 }, 0.5),
		gen("rare positives", 6000, rng.NormFloat64, 0.02),
		gen("tiny probabilities", 2000, func() float64 { return math.Exp(-40 * rng.Float64()) }, 0.6),
	}
	// Make the scores informative for one set so the AUC is far from 0.5.
	for i, l := range sets[0].labels {
		if l {
			sets[0].scores[i] += 0.3
		}
	}

	dir := t.TempDir()
	var paths []string
	for i, d := range sets {
		var b bytes.Buffer
		for j := range d.scores {
			l := 0
			if d.labels[j] {
				l = 1
			}
			fmt.Fprintf(&b, "%d,%s\n", l, strconv.FormatFloat(d.scores[j], 'g', -1, 64))
		}
		p := filepath.Join(dir, fmt.Sprintf("set%d.csv", i))
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(python, append([]string{"-c", sklearnScript}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run scikit-learn: %v\n%s", err, stderr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(sets) {
		t.Fatalf("scikit-learn printed %d results, want %d: %q", len(lines), len(sets), out)
	}
	for i, d := range sets {
		t.Run(d.name, func(t *testing.T) {
			want, err := strconv.ParseFloat(lines[i], 64)
			if err != nil {
				t.Fatalf("parse scikit-learn output %q: %v", lines[i], err)
			}
			got, err := ROC(d.scores, d.labels)
			if err != nil {
				t.Fatalf("ROC: %v", err)
			}
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("ROC = %.17g, scikit-learn = %.17g (diff %g)", got, want, got-want)
			}
		})
	}
}
