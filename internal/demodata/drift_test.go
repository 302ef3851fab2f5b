package demodata

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The oracle: the programs that stand in for SageMaker's XGBoost and the Monitor Lambda's scikit-learn.
const (
	xgboostBin = "/usr/bin/xgboost"
	pythonBin  = "/usr/bin/python3"
)

// hyperparameters are the original training state machine's, as the CLI spells them.
var hyperparameters = []string{
	"objective = binary:logistic",
	"colsample_bytree = 0.7",
	"max_depth = 4",
	"eta = 0.2",
	"gamma = 4",
	"min_child_weight = 6",
	"subsample = 0.7",
	"learning_rate = 0.075",
	"silent = 0",
	"num_round = 200",
	"seed = 0",
}

// requireOracle fails the test (rather than skipping it) when the oracle is not installed.
func requireOracle(t *testing.T) {
	t.Helper()
	for _, bin := range []string{xgboostBin, pythonBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("drift oracle needs %s (apt-get install xgboost python3-xgboost python3-sklearn): %v", bin, err)
		}
	}
	out, err := exec.Command(pythonBin, "-c", "import sklearn").CombinedOutput()
	if err != nil {
		t.Fatalf("drift oracle needs scikit-learn for %s (apt-get install python3-sklearn): %v\n%s", pythonBin, err, out)
	}
}

// trainXGBoost trains a model on the train split of date under root with the XGBoost CLI and returns
// the model's path.
func trainXGBoost(t *testing.T, root, date string) string {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	conf := append([]string{
		"task = train",
		"nthread = 1",
		fmt.Sprintf("data = \"%s?format=csv&label_column=0\"", filepath.Join(root, filepath.FromSlash(Key(date, Train)))),
		fmt.Sprintf("eval[validation] = \"%s?format=csv&label_column=0\"", filepath.Join(root, filepath.FromSlash(Key(date, Validation)))),
		fmt.Sprintf("model_out = \"%s\"", model),
	}, hyperparameters...)
	runXGBoost(t, dir, conf)
	return model
}

// predictXGBoost scores the holdout data of date under root and returns the predictions file.
func predictXGBoost(t *testing.T, root, date, model string) string {
	t.Helper()
	dir := t.TempDir()
	pred := filepath.Join(dir, "pred.txt")
	runXGBoost(t, dir, []string{
		"task = pred",
		"nthread = 1",
		fmt.Sprintf("test:data = \"%s?format=csv\"", filepath.Join(root, filepath.FromSlash(Key(date, HoldoutData)))),
		fmt.Sprintf("model_in = \"%s\"", model),
		fmt.Sprintf("name_pred = \"%s\"", pred),
	})
	return pred
}

func runXGBoost(t *testing.T, dir string, conf []string) {
	t.Helper()
	path := filepath.Join(dir, "xgboost.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xgboostBin, path)
	cmd.Dir = dir
	// One passive thread: on a shared machine OpenMP's spinning threads slow training down many times.
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=PASSIVE")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xgboost %s: %v\n%s", path, err, out)
	}
}

// rocAUC is scikit-learn's roc_auc_score of a predictions file against a target file, as the Monitor
// Lambda computes it.
func rocAUC(t *testing.T, target, pred string) float64 {
	t.Helper()
	const script = `import sys
import numpy as np
from sklearn.metrics import roc_auc_score
y = np.loadtxt(sys.argv[1])
p = np.loadtxt(sys.argv[2])
assert y.shape == p.shape, (y.shape, p.shape)
print(roc_auc_score(y, p))
`
	out, err := exec.Command(pythonBin, "-c", script, target, pred).CombinedOutput()
	if err != nil {
		t.Fatalf("roc_auc_score(%s, %s): %v\n%s", target, pred, err, out)
	}
	auc, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("roc_auc_score(%s, %s): %q: %v", target, pred, out, err)
	}
	return auc
}

// TestDriftWithXGBoost checks the property the demo rests on: with the original hyperparameters, a
// model trained on 2019-10-01 is good on its own date and clearly worse a month later, and a model
// retrained on 2019-11-01 is good again there.
func TestDriftWithXGBoost(t *testing.T) {
	requireOracle(t)
	cfg := DefaultConfig()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := d.WriteDir(root, nil); err != nil {
		t.Fatal(err)
	}
	first, second := cfg.Dates[0], cfg.Dates[1]
	auc := map[[2]string]float64{}
	for _, trained := range cfg.Dates {
		model := trainXGBoost(t, root, trained)
		for _, scored := range cfg.Dates {
			pred := predictXGBoost(t, root, scored, model)
			a := rocAUC(t, filepath.Join(root, filepath.FromSlash(Key(scored, HoldoutTarget))), pred)
			auc[[2]string{trained, scored}] = a
			t.Logf("model trained on %s, scored on %s holdout: ROC AUC %.4f", trained, scored, a)
		}
	}
	own, drifted, retrained := auc[[2]string{first, first}], auc[[2]string{first, second}], auc[[2]string{second, second}]
	if own <= 0.85 {
		t.Errorf("model of %s on its own holdout: AUC %.4f, want > 0.85", first, own)
	}
	if retrained <= 0.85 {
		t.Errorf("model of %s on its own holdout: AUC %.4f, want > 0.85", second, retrained)
	}
	if drifted > own-0.1 {
		t.Errorf("model of %s on %s holdout: AUC %.4f, want at least 0.1 below its own-date %.4f", first, second, drifted, own)
	}
	if drifted >= 0.8 {
		t.Errorf("model of %s on %s holdout: AUC %.4f, want below the demo threshold 0.8", first, second, drifted)
	}
}
