package algorithm

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mdlc/mdlc/internal/demodata"
)

// containerPredict is the oracle for batch transform: the SageMaker XGBoost container's text/csv inference
// path (serve_utils.parse_content_data → encoder.csv_to_dmatrix with dtype=float: numpy parses every field
// to float64, DMatrix takes the array as float32), then Booster.predict. With a second argument "dmlc" it
// loads the file with XGBoost's own text reader instead, which is what the command-line program uses, to
// show that the rows under test tell the two apart. It prints one line per record, each value with 17 digits.
const containerPredict = `
import sys, numpy as np, xgboost as xgb
b = xgb.Booster(model_file=sys.argv[1])
if len(sys.argv) > 3 and sys.argv[3] == "dmlc":
    d = xgb.DMatrix(sys.argv[2] + "?format=csv")
    n = d.num_row()
else:
    text = open(sys.argv[2]).read().strip()
    x = np.array([line.split(",") for line in text.split("\n")]).astype(float)
    d, n = xgb.DMatrix(x), len(x)
for row in np.atleast_2d(b.predict(d)).reshape(n, -1):
    print(",".join("%.17g" % float(v) for v in row))
`

// splitValues returns every feature → split threshold pair of the model, from libxgboost's JSON dump.
func splitValues(t *testing.T, modelFile string) map[int][]float32 {
	t.Helper()
	b, err := loadBooster(modelFile, 1)
	must(t, err)
	defer b.close()
	trees, err := b.dump()
	must(t, err)
	type node struct {
		Split     string  `json:"split"`
		Condition float64 `json:"split_condition"`
		Children  []node  `json:"children"`
	}
	out := map[int][]float32{}
	var walk func(n node)
	walk = func(n node) {
		if n.Split != "" {
			f, err := strconv.Atoi(strings.TrimPrefix(n.Split, "f"))
			must(t, err)
			out[f] = append(out[f], float32(n.Condition))
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, tree := range trees {
		var n node
		must(t, json.Unmarshal([]byte(tree), &n))
		walk(n)
	}
	if len(out) == 0 {
		t.Fatal("the model has no splits")
	}
	return out
}

// decimalsOn returns decimal texts that denote the float32 c or its neighbours, as a user's data would:
// c's shortest text, its 9-digit text, and the 4- to 6-decimal roundings of c (what a CSV with fixed
// precision holds).
func decimalsOn(c float32) []string {
	set := map[string]bool{}
	for _, v := range []float32{c, math.Nextafter32(c, float32(math.Inf(-1))), math.Nextafter32(c, float32(math.Inf(1)))} {
		set[strconv.FormatFloat(float64(v), 'g', -1, 32)] = true
		set[strconv.FormatFloat(float64(v), 'g', 9, 32)] = true
		for prec := 4; prec <= 6; prec++ {
			set[strconv.FormatFloat(float64(v), 'f', prec, 32)] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// requireSameBits fails unless got (localaws's output) and want (the oracle's) hold the same float32 values.
func requireSameBits(t *testing.T, got, want string, rows []string) {
	t.Helper()
	g, w := parseFloat32Lines(t, got), parseFloat32Lines(t, want)
	if len(g) != len(w) {
		t.Fatalf("%d prediction lines, the container %d", len(g), len(w))
	}
	bad := 0
	for i := range g {
		for j := range g[i] {
			if math.Float32bits(g[i][j]) != math.Float32bits(w[i][j]) {
				if bad++; bad <= 5 {
					t.Errorf("record %d (%s): prediction %v, the container's %v", i+1, rows[i], g[i][j], w[i][j])
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d records predicted differently from the container", bad, len(g))
	}
}

// TestXGBoostPredictOnSplitPoints scores records whose feature values lie on the model's own split points (and
// one float32 step either side), written as decimals the way a CSV would hold them, and checks them bit for
// bit against the SageMaker container's inference path. A value on a split point goes down one branch or
// the other depending on the last bit of its float32, so this is where a parser that is not correctly
// rounded shows. The test also checks that these records do tell the parsers apart: loaded with XGBoost's
// own text reader, some of them are predicted differently.
func TestXGBoostPredictOnSplitPoints(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"] = "30"
	modelDir, _ := trainedModel(t, x, hp)
	model := filepath.Join(modelDir, XGBoostModelFile)

	base := makeDataset(17, 1, 10).features[0]
	var rows []string
	for f, values := range splitValues(t, model) {
		for _, c := range values {
			for _, d := range decimalsOn(c) {
				fields := make([]string, len(base))
				for j, v := range base {
					fields[j] = formatFeature(v)
				}
				fields[f] = d
				rows = append(rows, strings.Join(fields, ","))
			}
		}
	}
	sort.Strings(rows)
	dir := t.TempDir()
	input, output := filepath.Join(dir, "splits.csv"), filepath.Join(dir, "splits.csv.out")
	must(t, os.WriteFile(input, []byte(strings.Join(rows, "\n")+"\n"), 0o644))
	if err := x.Predict(context.Background(), modelDir, input, output); err != nil {
		t.Fatalf("Predict: %v", err)
	}
	got, err := os.ReadFile(output)
	must(t, err)
	want := runPython(t, containerPredict, model, input)
	requireSameBits(t, string(got), want, rows)

	dmlc := parseFloat32Lines(t, runPython(t, containerPredict, model, input, "dmlc"))
	w := parseFloat32Lines(t, want)
	differ := 0
	for i := range w {
		if math.Float32bits(w[i][0]) != math.Float32bits(dmlc[i][0]) {
			differ++
		}
	}
	t.Logf("%d records on split points; XGBoost's text reader predicts %d of them differently", len(rows), differ)
	if differ == 0 {
		t.Fatal("no record tells numpy's parse from XGBoost's text reader: the test data no longer tests the parse")
	}
}

// TestXGBoostPredictDemoData is the case the parse difference was found with: the demo data's model trained
// on 2020-03-01 and its 2020-04-01 holdout, predicted as the container predicts them.
func TestXGBoostPredictDemoData(t *testing.T) {
	x := newXGBoost(t)
	cfg := demodata.DefaultConfig()
	cfg.Dates = []string{"2020-03-01", "2020-04-01"}
	ds, err := demodata.New(cfg)
	must(t, err)
	read := func(date string, s demodata.Split) string {
		for _, f := range ds.Files() {
			if f.Date == date && f.Split == s {
				r, err := ds.Open(f)
				must(t, err)
				b, err := io.ReadAll(r)
				must(t, err)
				return string(b)
			}
		}
		t.Fatalf("demo data has no %s %s", date, s)
		return ""
	}
	root := makeJob(t, workshopHyperparameters(), map[string]channel{
		"train":      {"text/csv", map[string]string{"train.csv": read("2020-03-01", demodata.Train)}},
		"validation": {"text/csv", map[string]string{"validation.csv": read("2020-03-01", demodata.Validation)}},
	})
	if _, err := x.Train(context.Background(), root, nil); err != nil {
		t.Fatalf("Train: %v", err)
	}
	modelDir := filepath.Join(root, "model")
	dir := t.TempDir()
	holdout := read("2020-04-01", demodata.HoldoutData)
	input, output := filepath.Join(dir, "holdout_data.csv"), filepath.Join(dir, "holdout_data.csv.out")
	must(t, os.WriteFile(input, []byte(holdout), 0o644))
	if err := x.Predict(context.Background(), modelDir, input, output); err != nil {
		t.Fatalf("Predict: %v", err)
	}
	got, err := os.ReadFile(output)
	must(t, err)
	want := runPython(t, containerPredict, filepath.Join(modelDir, XGBoostModelFile), input)
	requireSameBits(t, string(got), want, strings.Split(holdout, "\n"))
}

// TestParseValue checks the parse of one number against numpy's (float64, then float32), including the
// decimals XGBoost's text reader gets wrong and one where rounding to float32 at once would differ: it lies
// just above the midpoint of 1 and the next float32, but its nearest float64 is the midpoint itself, which
// rounds to even (1).
func TestParseValue(t *testing.T) {
	inputs := []string{"1.5694", "1.8451", "1.75075", "0.1", "-2.5e-3", "3.4028235e38", "1e-45", "123456789",
		"1.000000059604644775390625000001", "1e400", "-0"}
	out := runPython(t, `
import sys, numpy as np
for v in np.array(sys.argv[1:]).astype(float).astype(np.float32):
    print(int(v.view(np.uint32)))
`, inputs...)
	want := strings.Fields(out)
	for i, in := range inputs {
		got := strconv.FormatUint(uint64(math.Float32bits(parseValue([]byte(in)))), 10)
		if got != want[i] {
			t.Errorf("parseValue(%q) = bits %s, numpy %s", in, got, want[i])
		}
	}
}

// containerTrain is the oracle for training: the SageMaker XGBoost container's file-mode path
// (data_utils._get_csv_dmatrix_file_mode: XGBoost's own reader, xgb.DMatrix("<path>?format=csv&label_column=0"),
// then xgb.train with train and validation as evals). It prints "same" when the model it trains has the same
// trees as the model file given, and the first difference otherwise.
const containerTrain = `
import sys, json, xgboost as xgb
model, train, validation, rounds, params = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
dtrain = xgb.DMatrix(train + "?format=csv&label_column=0")
dval = xgb.DMatrix(validation + "?format=csv&label_column=0")
b = xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train"), (dval, "validation")], verbose_eval=False)
want, got = b.get_dump(dump_format="json"), xgb.Booster(model_file=model).get_dump(dump_format="json")
if want == got:
    print("same")
else:
    print("differ: %d trees vs %d; first differing tree %d" % (len(want), len(got), next((i for i, (w, g) in enumerate(zip(want, got)) if w != g), -1)))
`

// TestXGBoostTrainReadsAsContainer checks that training reads its CSV channels as the container does, with
// XGBoost's own text reader (not numpy's parse, which the container uses only for inference): the model is
// the one the container's training path builds from the same files and parameters, tree for tree. The data
// has the 4-decimal values of the demo data, among them the ones the two parsers read differently.
func TestXGBoostTrainReadsAsContainer(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"] = "30"
	train := makeDataset(11, 2000, 10).csv(true) + "1,1.5694,1.8451,1.75075,0,0,0,0,0,0,0\n"
	root := makeJob(t, hp, map[string]channel{
		"train":      {"text/csv", map[string]string{"train.csv": train}},
		"validation": {"text/csv", map[string]string{"validation.csv": makeDataset(12, 500, 10).csv(true)}},
	})
	if _, err := x.Train(context.Background(), root, nil); err != nil {
		t.Fatalf("Train: %v", err)
	}
	p, err := parseXGBoostHyperparameters(hp)
	must(t, err)
	params := map[string]string{}
	for _, line := range p.config {
		k, v, _ := strings.Cut(line, " = ")
		params[k] = v
	}
	b, err := json.Marshal(params)
	must(t, err)
	data := filepath.Join(root, "input", "data")
	out := runPython(t, containerTrain, filepath.Join(root, "model", XGBoostModelFile),
		filepath.Join(data, "train", "train.csv"), filepath.Join(data, "validation", "validation.csv"), hp["num_round"], string(b))
	if strings.TrimSpace(out) != "same" {
		t.Errorf("the container's training path builds another model: %s", out)
	}
}
