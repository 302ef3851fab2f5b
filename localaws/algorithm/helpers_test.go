package algorithm

import (
	"encoding/json"
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

const (
	xgboostProgram = "/usr/bin/xgboost"
	pythonProgram  = "/usr/bin/python3"
)

// workshopHyperparameters is the original MDLC workshop's hyperparameter set, as SageMaker passes it.
func workshopHyperparameters() map[string]string {
	return map[string]string{
		"objective": "binary:logistic", "colsample_bytree": "0.7", "max_depth": "4", "eta": "0.2",
		"gamma": "4", "min_child_weight": "6", "subsample": "0.7", "learning_rate": "0.075", "silent": "0",
		"num_round": "200", "seed": "0",
	}
}

// newXGBoost returns the XGBoost algorithm; the tests need the real program (CI installs Debian's xgboost).
func newXGBoost(t testing.TB) *XGBoost {
	t.Helper()
	x, err := NewXGBoost(xgboostProgram)
	if err != nil {
		t.Fatalf("these tests need the XGBoost 1.7 command-line program (apt-get install xgboost): %v", err)
	}
	return x
}

// dataset is a seeded binary-classification problem: the label depends on the first three features.
type dataset struct {
	labels   []int
	features [][]float64
}

func makeDataset(seed uint64, rows, features int) dataset {
	rng := rand.New(rand.NewPCG(seed, 42))
	d := dataset{}
	for range rows {
		x := make([]float64, features)
		for j := range x {
			x[j] = math.Round(rng.NormFloat64()*1e4) / 1e4
		}
		s := x[0] + 0.5*x[1] - x[2] + rng.NormFloat64()*0.5
		y := 0
		if s > 0 {
			y = 1
		}
		d.labels = append(d.labels, y)
		d.features = append(d.features, x)
	}
	return d
}

func formatFeature(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// csv renders the dataset, with the label in the first column when withLabel.
func (d dataset) csv(withLabel bool) string {
	var b strings.Builder
	for i, x := range d.features {
		if withLabel {
			b.WriteString(strconv.Itoa(d.labels[i]))
			b.WriteByte(',')
		}
		for j, v := range x {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(formatFeature(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (d dataset) libsvm() string {
	var b strings.Builder
	for i, x := range d.features {
		b.WriteString(strconv.Itoa(d.labels[i]))
		for j, v := range x {
			fmt.Fprintf(&b, " %d:%s", j, formatFeature(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// channel is one channel of a test job: its content type and files (slash-separated names → content).
type channel struct {
	contentType string
	files       map[string]string
}

// makeJob lays out a training job under a new root directory per the training-container contract.
func makeJob(t testing.TB, hp map[string]string, channels map[string]channel) string {
	t.Helper()
	root := t.TempDir()
	config := filepath.Join(root, "input", "config")
	must(t, os.MkdirAll(config, 0o755))
	writeJSON(t, filepath.Join(config, "hyperparameters.json"), hp)
	dataConfig := map[string]map[string]string{}
	for name, c := range channels {
		dataConfig[name] = map[string]string{"ContentType": c.contentType, "TrainingInputMode": "File",
			"S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
		dir := filepath.Join(root, "input", "data", name)
		must(t, os.MkdirAll(dir, 0o755))
		for file, content := range c.files {
			p := filepath.Join(dir, filepath.FromSlash(file))
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, []byte(content), 0o644))
		}
	}
	writeJSON(t, filepath.Join(config, "inputdataconfig.json"), dataConfig)
	return root
}

func writeJSON(t testing.TB, file string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	must(t, os.WriteFile(file, b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func metricValue(metrics []Metric, name string) (float64, bool) {
	for _, m := range metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// runPython runs a script with the Debian python (xgboost 1.7.4, scikit-learn) and returns its stdout.
func runPython(t testing.TB, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(pythonProgram, append([]string{"-c", script}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python oracle (needs %s with python3-xgboost): %v\n%s", pythonProgram, err, stderr.String())
	}
	return string(out)
}
