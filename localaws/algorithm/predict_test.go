package algorithm

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// trainedModel trains the workshop hyperparameters on a generated dataset and returns the model directory
// and the job root.
func trainedModel(t *testing.T, x *XGBoost, hp map[string]string) (modelDir, root string) {
	t.Helper()
	root = makeJob(t, hp, map[string]channel{
		"train":      {"text/csv", map[string]string{"train.csv": makeDataset(11, 2000, 10).csv(true)}},
		"validation": {"text/csv", map[string]string{"validation.csv": makeDataset(12, 500, 10).csv(true)}},
	})
	if _, err := x.Train(context.Background(), root, nil); err != nil {
		t.Fatalf("Train: %v", err)
	}
	return filepath.Join(root, "model"), root
}

// pythonPredict is the oracle: Python xgboost loads the model file and predicts the CSV's rows.
const pythonPredict = `
import sys, numpy as np, xgboost as xgb
b = xgb.Booster(model_file=sys.argv[1])
X = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
for row in np.atleast_2d(b.predict(xgb.DMatrix(X))).reshape(len(X), -1):
    print(",".join("%.17g" % float(v) for v in row))
`

// parseFloat32Lines parses lines of comma-separated numbers as float32.
func parseFloat32Lines(t *testing.T, s string) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var row []float32
		for _, f := range strings.Split(line, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("prediction %q: %v", f, err)
			}
			row = append(row, float32(v))
		}
		out = append(out, row)
	}
	return out
}

// TestXGBoostPredictMatchesPython checks predictions against Python xgboost's Booster.predict on the same model
// file: the CLI prints float32 with 9 significant digits, which round-trips, so they must be equal bit for
// bit once parsed as float32 (Python's float32 results are printed with 17 digits, exact).
func TestXGBoostPredictMatchesPython(t *testing.T) {
	x := newXGBoost(t)
	multi := map[string]string{"num_round": "10", "objective": "multi:softprob", "num_class": "3", "seed": "0"}
	tests := []struct {
		name string
		hp   map[string]string
	}{
		{"workshop binary:logistic", workshopHyperparameters()},
		{"multi:softprob", multi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hp := tt.hp
			var modelDir string
			if hp["objective"] == "multi:softprob" {
				d := makeDataset(13, 600, 4)
				for i, x := range d.features { // three classes
					d.labels[i] = 0
					if x[0] > 0.5 {
						d.labels[i] = 2
					} else if x[0] > -0.5 {
						d.labels[i] = 1
					}
				}
				root := makeJob(t, hp, map[string]channel{"train": {"text/csv", map[string]string{"t.csv": d.csv(true)}}})
				if _, err := x.Train(context.Background(), root, nil); err != nil {
					t.Fatal(err)
				}
				modelDir = filepath.Join(root, "model")
			} else {
				modelDir, _ = trainedModel(t, x, hp)
			}
			features := 10
			if hp["objective"] == "multi:softprob" {
				features = 4
			}
			dir := t.TempDir()
			input, output := filepath.Join(dir, "holdout.csv"), filepath.Join(dir, "holdout.csv.out")
			must(t, os.WriteFile(input, []byte(makeDataset(14, 1000, features).csv(false)), 0o644))
			if err := x.Predict(context.Background(), modelDir, input, output); err != nil {
				t.Fatalf("Predict: %v", err)
			}
			got, err := os.ReadFile(output)
			must(t, err)
			want := runPython(t, pythonPredict, filepath.Join(modelDir, XGBoostModelFile), input)
			g, w := parseFloat32Lines(t, string(got)), parseFloat32Lines(t, want)
			if len(g) != 1000 || len(w) != 1000 {
				t.Fatalf("got %d prediction lines, python %d, want 1000", len(g), len(w))
			}
			for i := range g {
				if len(g[i]) != len(w[i]) {
					t.Fatalf("line %d: %d values, python %d", i+1, len(g[i]), len(w[i]))
				}
				for j := range g[i] {
					if math.Float32bits(g[i][j]) != math.Float32bits(w[i][j]) {
						t.Fatalf("line %d value %d: %v, python %v", i+1, j+1, g[i][j], w[i][j])
					}
				}
			}
		})
	}
}

// TestXGBoostMetricsMatchPython recomputes the final validation metrics from the model with Python (xgboost's
// predictions, scikit-learn's log_loss and roc_auc_score).
func TestXGBoostMetricsMatchPython(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["eval_metric"] = "logloss,auc"
	root := makeJob(t, hp, map[string]channel{
		"train":      {"text/csv", map[string]string{"train.csv": makeDataset(11, 2000, 10).csv(true)}},
		"validation": {"text/csv", map[string]string{"validation.csv": makeDataset(12, 500, 10).csv(true)}},
	})
	metrics, err := x.Train(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := runPython(t, `
import sys, numpy as np, xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score
b = xgb.Booster(model_file=sys.argv[1])
d = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
p = b.predict(xgb.DMatrix(d[:, 1:])).astype(np.float64)
print("%.17g %.17g" % (log_loss(d[:, 0], p), roc_auc_score(d[:, 0], p)))
`, filepath.Join(root, "model", XGBoostModelFile), filepath.Join(root, "input", "data", "validation", "validation.csv"))
	fields := strings.Fields(out)
	for i, name := range []string{"validation:logloss", "validation:auc"} {
		want, _ := strconv.ParseFloat(fields[i], 64)
		got, ok := metricValue(metrics, name)
		if !ok || math.Abs(got-want) > 1e-5 {
			t.Errorf("%s = %v (reported %v), python says %v", name, got, ok, want)
		}
	}
}

func TestXGBoostPredictInputs(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"] = "10"
	modelDir, _ := trainedModel(t, x, hp)
	rows := makeDataset(15, 5, 10)
	csvLines := strings.SplitAfter(rows.csv(false), "\n")
	tests := []struct {
		name    string
		input   string
		want    int // lines of output
		wantErr string
	}{
		{"empty input", "", 0, ""},
		{"only newlines", "\n\n", 0, ""},
		{"csv without final newline", strings.TrimSuffix(rows.csv(false), "\n"), 5, ""},
		{"csv with CRLF and trailing blank lines", strings.ReplaceAll(rows.csv(false), "\n", "\r\n") + "\r\n\n", 5, ""},
		{"libsvm with labels", rows.libsvm(), 5, ""},
		{"blank line inside", csvLines[0] + "\n" + csvLines[1], 0, "input in.txt line 2: blank line inside the input"},
		{"header", "a,b,c,d,e,f,g,h,i,j\n" + csvLines[0], 0, `input in.txt line 1: field 1 is not a finite number: "a"`},
		{"ragged", csvLines[0] + "1,2\n", 0, "input in.txt line 2: row has 2 fields"},
		{"label column left in", makeDataset(15, 3, 10).csv(true), 0, "Number of columns does not match number of features in booster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			input, output := filepath.Join(dir, "in.txt"), filepath.Join(dir, "in.txt.out")
			must(t, os.WriteFile(input, []byte(tt.input), 0o644))
			err := x.Predict(context.Background(), modelDir, input, output)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Predict error = %v, want %q", err, tt.wantErr)
				}
				if _, serr := os.Stat(output); !errors.Is(serr, os.ErrNotExist) {
					t.Errorf("a failed prediction left its output file (stat: %v)", serr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Predict: %v", err)
			}
			got, err := os.ReadFile(output)
			must(t, err)
			lines := strings.Count(string(got), "\n")
			if lines != tt.want {
				t.Errorf("output has %d lines, want %d:\n%s", lines, tt.want, got)
			}
		})
	}
}

func TestXGBoostPredictSameForCSVAndLibSVM(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"] = "10"
	modelDir, _ := trainedModel(t, x, hp)
	rows := makeDataset(16, 50, 10)
	dir := t.TempDir()
	var outs []string
	for name, content := range map[string]string{"a.csv": rows.csv(false), "a.libsvm": rows.libsvm()} {
		in := filepath.Join(dir, name)
		must(t, os.WriteFile(in, []byte(content), 0o644))
		must(t, x.Predict(context.Background(), modelDir, in, in+".out"))
		b, err := os.ReadFile(in + ".out")
		must(t, err)
		outs = append(outs, string(b))
	}
	if outs[0] != outs[1] {
		t.Errorf("csv and libsvm predictions differ:\n%s\n%s", outs[0], outs[1])
	}
}

func TestXGBoostPredictModelDir(t *testing.T) {
	x := newXGBoost(t)
	in := filepath.Join(t.TempDir(), "in.csv")
	must(t, os.WriteFile(in, []byte("1,2\n"), 0o644))
	empty := t.TempDir()
	err := x.Predict(context.Background(), empty, in, in+".out")
	if err == nil || !strings.Contains(err.Error(), "want exactly one model file") {
		t.Errorf("Predict with an empty model directory: %v", err)
	}
	garbage := t.TempDir()
	must(t, os.WriteFile(filepath.Join(garbage, "model.bin"), []byte("not a model"), 0o644))
	must(t, os.WriteFile(filepath.Join(garbage, ".DS_Store"), []byte("a dotfile is not a model"), 0o644))
	err = x.Predict(context.Background(), garbage, in, in+".out")
	if err == nil || !strings.Contains(err.Error(), "xgboost predict: load model model.bin: ") || strings.Contains(err.Error(), "Stack trace") {
		t.Errorf("Predict with a garbage model: %v", err)
	}
}
