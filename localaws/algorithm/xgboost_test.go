package algorithm

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestXGBoostTrain(t *testing.T) {
	x := newXGBoost(t)
	train, validation := makeDataset(1, 2000, 10), makeDataset(2, 500, 10)
	withMetrics := workshopHyperparameters()
	withMetrics["eval_metric"] = "auc,logloss"
	tests := []struct {
		name        string
		hp          map[string]string
		channels    map[string]channel
		wantMetrics []string
	}{{
		name: "workshop hyperparameters, csv",
		hp:   workshopHyperparameters(),
		channels: map[string]channel{
			"train":      {"text/csv", map[string]string{"train.csv": train.csv(true)}},
			"validation": {"text/csv", map[string]string{"validation.csv": validation.csv(true)}},
		},
		wantMetrics: []string{"train:logloss", "validation:logloss"},
	}, {
		name: "eval_metric list, content type csv",
		hp:   withMetrics,
		channels: map[string]channel{
			"train":      {"csv", map[string]string{"train.csv": train.csv(true)}},
			"validation": {"text/csv; label_size=1", map[string]string{"validation.csv": validation.csv(true)}},
		},
		wantMetrics: []string{"train:auc", "train:logloss", "validation:auc", "validation:logloss"},
	}, {
		name: "libsvm, no validation channel",
		hp:   workshopHyperparameters(),
		channels: map[string]channel{
			"train": {"text/libsvm", map[string]string{"train.libsvm": train.libsvm()}},
		},
		wantMetrics: []string{"train:logloss"},
	}, {
		name: "libsvm by default",
		hp:   workshopHyperparameters(),
		channels: map[string]channel{
			"train":      {"", map[string]string{"train": train.libsvm()}},
			"validation": {"libsvm", map[string]string{"validation": validation.libsvm()}},
		},
		wantMetrics: []string{"train:logloss", "validation:logloss"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := makeJob(t, tt.hp, tt.channels)
			var logs bytes.Buffer
			metrics, err := x.Train(context.Background(), root, &logs)
			if err != nil {
				t.Fatalf("Train: %v\nlogs:\n%s", err, logs.String())
			}
			var names []string
			for _, m := range metrics {
				names = append(names, m.Name)
				if m.Value < 0 || m.Value > 1 {
					t.Errorf("metric %s = %v, want within [0, 1]", m.Name, m.Value)
				}
			}
			if got, want := strings.Join(sortedCopy(names), ","), strings.Join(tt.wantMetrics, ","); got != want {
				t.Errorf("metrics = %s, want %s", got, want)
			}
			if auc, ok := metricValue(metrics, "validation:auc"); ok && auc < 0.8 {
				t.Errorf("validation:auc = %v, want a model that learned something (>= 0.8)", auc)
			}
			if _, err := os.Stat(filepath.Join(root, "model", XGBoostModelFile)); err != nil {
				t.Errorf("model file: %v", err)
			}
			if _, err := os.Stat(filepath.Join(root, "output", "failure")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("failure file exists after success (stat: %v)", err)
			}
			if !strings.Contains(logs.String(), "[199]\t") {
				t.Errorf("logs lack the last round's results:\n%s", logs.String())
			}
			if entries, _ := filepath.Glob(filepath.Join(root, ".xgboost-*")); len(entries) > 0 {
				t.Errorf("scratch files left behind: %v", entries)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// TestXGBoostTrainSeveralFiles checks that a channel's files are concatenated in S3 key order: the model equals
// the one trained on the same records in one file. "a-c" sorts before "a/b" as a key, though a directory walk
// visits a/ first.
func TestXGBoostTrainSeveralFiles(t *testing.T) {
	x := newXGBoost(t)
	train := makeDataset(3, 900, 5)
	lines := strings.SplitAfter(train.csv(true), "\n")
	hp := workshopHyperparameters()
	hp["num_round"] = "20"

	one := makeJob(t, hp, map[string]channel{"train": {"text/csv", map[string]string{"all.csv": train.csv(true)}}})
	several := makeJob(t, hp, map[string]channel{"train": {"text/csv", map[string]string{
		"a-c": strings.Join(lines[0:300], ""),
		// No newline at the end of this file, CRLF line ends and a blank line: all still one record a line.
		"a/b":     strings.ReplaceAll(strings.TrimSuffix(strings.Join(lines[300:600], ""), "\n"), "\n", "\r\n"),
		"b/c/d":   "\n" + strings.Join(lines[600:], ""),
		"b/empty": "",
	}}})
	for _, root := range []string{one, several} {
		if _, err := x.Train(context.Background(), root, nil); err != nil {
			t.Fatalf("Train %s: %v", root, err)
		}
	}
	a, err := os.ReadFile(filepath.Join(one, "model", XGBoostModelFile))
	must(t, err)
	b, err := os.ReadFile(filepath.Join(several, "model", XGBoostModelFile))
	must(t, err)
	if !bytes.Equal(a, b) {
		t.Error("model trained on several files differs from the model trained on their records in one file")
	}
}

func TestXGBoostTrainFailures(t *testing.T) {
	x := newXGBoost(t)
	good := makeDataset(4, 200, 3).csv(true)
	csvTrain := func(files map[string]string) map[string]channel {
		return map[string]channel{"train": {"text/csv", files}}
	}
	with := func(k, v string) map[string]string {
		hp := workshopHyperparameters()
		hp["num_round"] = "5"
		if v == "" {
			delete(hp, k)
		} else {
			hp[k] = v
		}
		return hp
	}
	tests := []struct {
		name     string
		hp       map[string]string
		channels map[string]channel
		want     string
	}{
		{"num_round missing", with("num_round", ""), csvTrain(map[string]string{"t.csv": good}), "ClientError: missing required hyperparameter: num_round"},
		{"num_round not a number", with("num_round", "abc"), csvTrain(map[string]string{"t.csv": good}), `ClientError: hyperparameter num_round: could not parse value "abc"`},
		{"max_depth negative", with("max_depth", "-1"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter max_depth: -1 is not in [0, +inf)"},
		{"eta out of range", with("eta", "1.5"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter eta: 1.5 is not in [0, 1]"},
		{"subsample zero", with("subsample", "0"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter subsample: 0 is not in (0, 1]"},
		{"unknown objective", with("objective", "binary:magic"), csvTrain(map[string]string{"t.csv": good}), `ClientError: hyperparameter objective: "binary:magic" is not one of`},
		{"unknown hyperparameter", with("max_dept", "3"), csvTrain(map[string]string{"t.csv": good}), "ClientError: extraneous hyperparameter found: max_dept"},
		{"newline in a value", with("objective", "binary:logistic\nmodel_out = /tmp/x"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter objective: value contains a control character"},
		{"early stopping", with("early_stopping_rounds", "5"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter early_stopping_rounds: not supported locally"},
		{"container-only metric", with("eval_metric", "f1"), csvTrain(map[string]string{"t.csv": good}), `ClientError: hyperparameter eval_metric: metric "f1" is computed by the SageMaker container`},
		{"script mode", with("sagemaker_program", "train.py"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter sagemaker_program: script mode"},
		{"multi without num_class", with("objective", "multi:softprob"), csvTrain(map[string]string{"t.csv": good}), "ClientError: hyperparameter num_class is required"},
		{"no train channel", with("seed", "1"), map[string]channel{"validation": {"text/csv", map[string]string{"v.csv": good}}}, "ClientError: channel train is required"},
		{"unknown channel", with("seed", "1"), map[string]channel{"train": {"text/csv", map[string]string{"t.csv": good}}, "test": {"text/csv", map[string]string{"t.csv": good}}}, "ClientError: channel test is not supported"},
		{"unsupported content type", with("seed", "1"), map[string]channel{"train": {"application/x-parquet", map[string]string{"t": good}}}, `ClientError: channel train: content type "application/x-parquet" is not supported locally`},
		{"empty channel", with("seed", "1"), csvTrain(map[string]string{}), "ClientError: channel train is empty: it has no files"},
		{"channel of empty files", with("seed", "1"), csvTrain(map[string]string{"a.csv": "", "b.csv": "\n\n"}), "ClientError: channel train is empty: its 2 file(s) hold no records"},
		{"ragged row", with("seed", "1"), csvTrain(map[string]string{"a.csv": "1,2,3\n0,1,2\n", "b.csv": "1,2,3\n0,1\n"}), "ClientError: channel train: file b.csv line 2: row has 2 fields, but channel train: file a.csv line 1 has 3"},
		{"non-numeric field", with("seed", "1"), csvTrain(map[string]string{"part/x.csv": "1,2,3\n0,abc,2\n"}), `ClientError: channel train: file part/x.csv line 2: field 2 is not a finite number: "abc"`},
		{"header row", with("seed", "1"), csvTrain(map[string]string{"x.csv": "label,a,b\n0,1,2\n"}), `ClientError: channel train: file x.csv line 1: field 1 is not a finite number: "label"`},
		{"nan field", with("seed", "1"), csvTrain(map[string]string{"x.csv": "1,2,3\n0,nan,2\n"}), `field 2 is not a finite number: "nan"`},
		{"empty field", with("seed", "1"), csvTrain(map[string]string{"x.csv": "1,,3\n"}), "ClientError: channel train: file x.csv line 1: field 2 is empty"},
		{"label only", with("seed", "1"), csvTrain(map[string]string{"x.csv": "1\n0\n"}), "has 1 column(s), want the label, at least one feature"},
		{"bad libsvm", with("seed", "1"), map[string]channel{"train": {"text/libsvm", map[string]string{"x": "1 0:1 1:2\n0 a:1\n"}}}, `ClientError: channel train: file x line 2: "a:1" is not index:value`},
		{"validation narrower than train", with("seed", "1"), map[string]channel{
			"train":      {"text/csv", map[string]string{"t.csv": good}},
			"validation": {"text/csv", map[string]string{"v.csv": "1,2,3\n"}},
		}, "ClientError: channel validation: rows have 3 columns, but channel train rows have 4"},
		{"label outside [0,1] for binary:logistic", with("seed", "1"), csvTrain(map[string]string{"x.csv": "2,1,2\n0,3,4\n"}), "AlgorithmError: xgboost: label must be in [0,1] for logistic regression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := makeJob(t, tt.hp, tt.channels)
			metrics, err := x.Train(context.Background(), root, nil)
			if err == nil {
				t.Fatalf("Train succeeded with metrics %v, want failure %q", metrics, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			failure, ferr := os.ReadFile(filepath.Join(root, "output", "failure"))
			if ferr != nil || string(failure) != err.Error() {
				t.Errorf("failure file = %q (%v), want the error %q", failure, ferr, err)
			}
			if _, serr := os.Stat(filepath.Join(root, "model", XGBoostModelFile)); serr == nil {
				t.Error("a failed job left a model file")
			}
		})
	}
}

// processesIn lists the processes whose working directory is under dir.
func processesIn(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dir) {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if !strings.Contains(string(stat), ") Z ") { // a zombie has already ended
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// signalWriter closes seen the first time the output contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestXGBoostTrainCancel(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"] = "10000000"
	root := makeJob(t, hp, map[string]channel{"train": {"text/csv", map[string]string{"t.csv": makeDataset(5, 2000, 10).csv(true)}}})
	root, _ = filepath.EvalSymlinks(root)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &signalWriter{want: "[1]\t", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := x.Train(ctx, root, logs)
		done <- err
	}()
	select {
	case <-logs.seen:
	case err := <-done:
		t.Fatalf("Train ended before it was cancelled: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("xgboost printed no round results within a minute")
	}
	if len(processesIn(t, root)) == 0 {
		t.Fatal("found no xgboost process running in the job directory")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Train error = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Train did not return after cancellation")
	}
	if pids := processesIn(t, root); len(pids) > 0 {
		t.Errorf("processes still running in the job directory after cancellation: %v", pids)
	}
	if _, err := os.Stat(filepath.Join(root, "output", "failure")); err == nil {
		t.Error("a stopped job wrote a failure file")
	}
}

func TestParseEvalLine(t *testing.T) {
	tests := []struct {
		line string
		want []Metric
	}{
		{"[08:44:12] [199]\ttrain-logloss:0.1\tvalidation-logloss:0.2", []Metric{{"train:logloss", 0.1}, {"validation:logloss", 0.2}}},
		{"[3]\tvalidation-auc:0.95246515498231743", []Metric{{"validation:auc", 0.95246515498231743}}},
		{"[0]\tvalidation-error@0.7:0.25\ttrain-aft-nloglik:3", []Metric{{"validation:error@0.7", 0.25}, {"train:aft-nloglik", 3}}},
		{"[08:44:11] WARNING: ./src/learner.cc:767:", nil},
		{"[1]\tnot a metric", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got := parseEvalLine(tt.line)
		if len(got) != len(tt.want) {
			t.Errorf("parseEvalLine(%q) = %v, want %v", tt.line, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseEvalLine(%q) = %v, want %v", tt.line, got, tt.want)
			}
		}
	}
}

func TestParseXGBoostHyperparameters(t *testing.T) {
	p, err := parseXGBoostHyperparameters(workshopHyperparameters())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"colsample_bytree = 0.7", "eta = 0.075", "gamma = 4", "max_depth = 4", "min_child_weight = 6",
		"objective = binary:logistic", "seed = 0", "subsample = 0.7"}
	if got := strings.Join(p.config, "; "); got != strings.Join(want, "; ") {
		t.Errorf("config = %s\nwant     %s", got, strings.Join(want, "; "))
	}
	if p.numRound != 200 {
		t.Errorf("num_round = %d, want 200", p.numRound)
	}

	tests := []struct {
		name string
		hp   map[string]string
		want string // a config line, or an error
	}{
		{"silent=1 quietens", map[string]string{"num_round": "1", "silent": "1"}, "verbosity = 0"},
		{"verbosity beats silent", map[string]string{"num_round": "1", "silent": "1", "verbosity": "2"}, "verbosity = 2"},
		{"alias reg_alpha", map[string]string{"num_round": "1", "alpha": "1", "reg_alpha": "3"}, "alpha = 3"},
		{"number normalised", map[string]string{"num_round": "1", "gamma": " 1e1 "}, "gamma = 10"},
		{"monotone constraints", map[string]string{"num_round": "1", "monotone_constraints": "(1, -1, 0)"}, "monotone_constraints = (1,-1,0)"},
		{"interaction constraints", map[string]string{"num_round": "1", "interaction_constraints": "[[0, 1], [2]]"}, "interaction_constraints = [[0,1],[2]]"},
		{"bad monotone constraints", map[string]string{"num_round": "1", "monotone_constraints": "(2)"}, "error: hyperparameter monotone_constraints"},
		{"gpu tree method", map[string]string{"num_round": "1", "tree_method": "gpu_hist"}, "error: hyperparameter tree_method"},
		{"float for integer", map[string]string{"num_round": "1.5"}, "error: hyperparameter num_round: could not parse"},
		{"nan", map[string]string{"num_round": "1", "eta": "nan"}, "error: hyperparameter eta: could not parse"},
		{"auc needs classification", map[string]string{"num_round": "1", "objective": "reg:squarederror", "eval_metric": "auc"}, "error: hyperparameter eval_metric: metric auc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseXGBoostHyperparameters(maps.Clone(tt.hp))
			if strings.HasPrefix(tt.want, "error: ") {
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tt.want, "error: ")) {
					t.Errorf("error = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(p.config, "\n")+"\n", tt.want+"\n") {
				t.Errorf("config %q lacks %q", p.config, tt.want)
			}
		})
	}
}

func TestIsNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1.5": true, "+.5": true, "5.": true, "1e3": true, "1.5E-07": true,
		"": false, ".": false, "-": false, "e3": false, "1e": false, "nan": false, "inf": false, "1,2": false,
		"0x10": false, "1 2": false, "abc": false,
	} {
		if got := isNumber([]byte(s)); got != want {
			t.Errorf("isNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"text/csv", CSV, false}, {"csv", CSV, false}, {"text/csv;label_size=1", CSV, false}, {"Text/CSV; label_size=1", CSV, false},
		{"text/libsvm", LibSVM, false}, {"libsvm", LibSVM, false}, {"", LibSVM, false},
		{"text/csv;label_size=2", 0, true}, {"application/x-recordio-protobuf", 0, true}, {"application/json", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseContentType(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseContentType(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestXGBoostTrainCapsThreads asks for far more threads than the host has: the job runs with one per CPU and
// its log says so, as a real instance is bounded by its vCPUs.
func TestXGBoostTrainCapsThreads(t *testing.T) {
	x := newXGBoost(t)
	hp := workshopHyperparameters()
	hp["num_round"], hp["nthread"] = "2", "10000"
	root := makeJob(t, hp, map[string]channel{"train": {"text/csv", map[string]string{"t.csv": makeDataset(3, 200, 4).csv(true)}}})
	var logs bytes.Buffer
	if _, err := x.Train(context.Background(), root, &logs); err != nil {
		t.Fatalf("Train: %v\n%s", err, logs.String())
	}
	n := strconv.Itoa(runtime.NumCPU())
	for _, want := range []string{"nthread=10000 capped to " + n + ", the CPUs of this host\n", "\n  nthread = " + n + "\n"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	p, err := parseXGBoostHyperparameters(map[string]string{"num_round": "1", "nthread": "1"})
	must(t, err)
	if len(p.notes) != 0 || !slices.Contains(p.config, "nthread = 1") {
		t.Errorf("nthread=1: config %q, notes %q; want it unchanged", p.config, p.notes)
	}
}
