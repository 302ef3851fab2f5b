package algorithm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// XGBoostModelFile is the name of the model file in <root>/model, the name the SageMaker XGBoost container
// uses, so that xgb.Booster(model_file="xgboost-model") loads it after model.tar.gz is unpacked. The file is
// in XGBoost's binary model format (what the CLI and the container, 1.3-1 and later, write).
const XGBoostModelFile = "xgboost-model"

// XGBoost stands in for the SageMaker built-in XGBoost images with the XGBoost 1.x command-line program
// (Debian's xgboost package; XGBoost removed the program in 3.2, hence the Algorithm interface in front of it).
//
// Training follows the SageMaker XGBoost container: hyperparameters are validated as the container does
// (unknown ones fail the job, see parseXGBoostHyperparameters), channel train is required and validation
// optional, a channel's files are checked and concatenated in key order, and the model is evaluated on
// train and validation after every round. Prediction writes one line per input record, with the CLI's
// numbers unchanged: it prints each float32 prediction with 9 significant digits, which round-trips, so a
// prediction parsed as float32 equals Python's Booster.predict bit for bit. Multi-output objectives
// (multi:softprob) write the record's values comma-separated on its line.
type XGBoost struct {
	// Program is the path of the XGBoost command-line program.
	Program string
	// Version is what the program reported for -V, e.g. "1.7.4".
	Version string
	// TempDir holds Predict's scratch files; the system's temporary directory when empty. Train keeps its
	// scratch files under the job's root.
	TempDir string
}

var xgbVersionRE = regexp.MustCompile(`(?m)^XGBoost: (\S+)\s*$`)

// NewXGBoost checks that program (looked up on PATH when it has no slash; "xgboost" when empty) is the
// XGBoost command-line program and returns the algorithm that runs it.
func NewXGBoost(program string) (*XGBoost, error) {
	if program == "" {
		program = "xgboost"
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("xgboost program %q: %w (install Debian's xgboost package or set its path)", program, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-V").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("xgboost program %q: run -V: %w", path, err)
	}
	m := xgbVersionRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("xgboost program %q: -V printed %q, not an XGBoost version", path, strings.TrimSpace(string(out)))
	}
	return &XGBoost{Program: path, Version: string(m[1])}, nil
}

// trainFailure is a failed training job's reason, classified as SageMaker does: ClientError for what the
// job's input got wrong, AlgorithmError for the rest.
type trainFailure struct {
	kind string
	err  error
}

func (f *trainFailure) Error() string { return f.kind + ": " + f.err.Error() }
func (f *trainFailure) Unwrap() error { return f.err }

func clientError(err error) error    { return &trainFailure{kind: "ClientError", err: err} }
func algorithmError(err error) error { return &trainFailure{kind: "AlgorithmError", err: err} }

// channelConfig is the part of an inputdataconfig.json entry the local XGBoost reads.
type channelConfig struct {
	ContentType       string
	CompressionType   string
	RecordWrapperType string
}

// Train implements Trainer.
func (x *XGBoost) Train(ctx context.Context, root string, logs io.Writer) ([]Metric, error) {
	if logs == nil {
		logs = io.Discard
	}
	metrics, err := x.train(ctx, root, logs)
	if err == nil {
		return metrics, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// A stopped job is not a failed one: no failure file.
		return nil, fmt.Errorf("xgboost training stopped: %w", ctxErr)
	}
	var f *trainFailure
	if !errors.As(err, &f) {
		err = algorithmError(err)
	}
	fmt.Fprintf(logs, "training failed: %v\n", err)
	if werr := WriteFailure(root, err.Error()); werr != nil {
		return nil, fmt.Errorf("%w (and %w)", err, werr)
	}
	return nil, err
}

// WriteFailure writes reason to <root>/output/failure, as a failing algorithm does.
func WriteFailure(root, reason string) error {
	dir := filepath.Join(root, "output")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write failure file: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "failure"), []byte(reason), 0o644); err != nil {
		return fmt.Errorf("write failure file: %w", err)
	}
	return nil
}

func readJSON(file string, v any) (bool, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	return true, nil
}

func (x *XGBoost) train(ctx context.Context, root string, logs io.Writer) ([]Metric, error) {
	config := filepath.Join(root, "input", "config")
	hp := map[string]string{}
	if _, err := readJSON(filepath.Join(config, "hyperparameters.json"), &hp); err != nil {
		return nil, clientError(err)
	}
	params, err := parseXGBoostHyperparameters(hp)
	if err != nil {
		return nil, clientError(err)
	}
	var channels map[string]channelConfig
	found, err := readJSON(filepath.Join(config, "inputdataconfig.json"), &channels)
	if err != nil {
		return nil, clientError(err)
	}
	if !found {
		return nil, clientError(errors.New("inputdataconfig.json is missing: the job has no channels"))
	}
	formats := map[string]Format{}
	for name, c := range channels {
		if name != "train" && name != "validation" {
			return nil, clientError(fmt.Errorf("channel %s is not supported: the XGBoost algorithm reads channels train and validation", name))
		}
		if c.CompressionType != "" && c.CompressionType != "None" {
			return nil, clientError(fmt.Errorf("channel %s: CompressionType %s is not supported locally", name, c.CompressionType))
		}
		if c.RecordWrapperType != "" && c.RecordWrapperType != "None" {
			return nil, clientError(fmt.Errorf("channel %s: RecordWrapperType %s is not supported locally", name, c.RecordWrapperType))
		}
		f, err := ParseContentType(c.ContentType)
		if err != nil {
			return nil, clientError(fmt.Errorf("channel %s: %w", name, err))
		}
		formats[name] = f
	}
	if _, ok := channels["train"]; !ok {
		return nil, clientError(errors.New("channel train is required"))
	}

	work, err := os.MkdirTemp(root, ".xgboost-")
	if err != nil {
		return nil, fmt.Errorf("create scratch directory: %w", err)
	}
	defer os.RemoveAll(work)

	var lines []string
	var trainWidth int
	for _, name := range []string{"train", "validation"} {
		format, ok := formats[name]
		if !ok {
			continue
		}
		st, err := concatChannel(filepath.Join(root, "input", "data", name), name, format, filepath.Join(work, name+".data"))
		if err != nil {
			return nil, clientError(err)
		}
		uri := name + ".data?format=libsvm"
		if format == CSV {
			want := 2
			uri = name + ".data?format=csv&label_column=0"
			if params.csvWeights {
				want, uri = 3, uri+"&weight_column=1"
			}
			if st.width < want {
				return nil, clientError(fmt.Errorf("channel %s: %s has %d column(s), want the label, %sat least one feature", name, st.widthAt, st.width, map[bool]string{true: "the weight and ", false: ""}[params.csvWeights]))
			}
			if name == "train" {
				trainWidth = st.width
			} else if trainWidth != 0 && st.width != trainWidth {
				return nil, clientError(fmt.Errorf("channel validation: rows have %d columns, but channel train rows have %d", st.width, trainWidth))
			}
		}
		fmt.Fprintf(logs, "channel %s: %d records (%s)\n", name, st.rows, format)
		if name == "train" {
			lines = append(lines, `data = "`+uri+`"`)
		}
		lines = append(lines, "eval["+name+`] = "`+uri+`"`)
	}
	lines = append(lines, "task = train", "num_round = "+strconv.FormatInt(params.numRound, 10), `model_out = "`+XGBoostModelFile+`"`)
	lines = append(lines, params.config...)
	for _, m := range params.evalMetrics {
		lines = append(lines, "eval_metric = "+m)
	}
	if _, hasEta := hp["eta"]; hasEta {
		if _, hasLR := hp["learning_rate"]; hasLR {
			fmt.Fprintf(logs, "both eta and learning_rate are set: learning_rate=%s wins, as in XGBoost\n", hp["learning_rate"])
		}
	}
	fmt.Fprintf(logs, "xgboost %s configuration:\n  %s\n", x.Version, strings.Join(lines, "\n  "))
	if err := os.WriteFile(filepath.Join(work, "train.conf"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write xgboost configuration: %w", err)
	}

	var metrics []Metric
	out := &cliOutput{}
	out.onEval = func(m []Metric) { metrics = m }
	lw := &lineWriter{logs: logs, onLine: out.line}
	runErr := command(ctx, x.Program, work, nil, lw, "train.conf").Run()
	lw.flush()
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, algorithmError(out.failure(runErr))
	}
	modelDir := filepath.Join(root, "model")
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return nil, fmt.Errorf("create model directory: %w", err)
	}
	if err := os.Rename(filepath.Join(work, XGBoostModelFile), filepath.Join(modelDir, XGBoostModelFile)); err != nil {
		return nil, fmt.Errorf("move model file: %w", err)
	}
	if len(metrics) == 0 {
		return nil, errors.New("xgboost printed no evaluation results")
	}
	return metrics, nil
}

// evalLineRE matches the CLI's per-round results: "[12:00:00] [199]\ttrain-logloss:0.1\tvalidation-auc:0.9".
var evalLineRE = regexp.MustCompile(`^(?:\[[0-9:]+\] )?\[(\d+)\]\t(.+)$`)

// cliOutput interprets the XGBoost CLI's output lines.
type cliOutput struct {
	onEval   func([]Metric)
	inError  bool
	errLines []string
	last     string
}

// logPrefixRE matches the time and source location XGBoost puts before a message.
var logPrefixRE = regexp.MustCompile(`^(\[[0-9:]+\] )?(\S+\.(cc|cu|h):\d+: )?`)

func (o *cliOutput) line(s string) {
	if strings.TrimSpace(s) != "" {
		o.last = s
	}
	switch {
	case s == "Error running xgboost:":
		o.inError = true
	case o.inError && strings.HasPrefix(s, "Stack trace:"):
		o.inError = false
	case o.inError:
		if msg := strings.TrimSpace(logPrefixRE.ReplaceAllString(s, "")); msg != "" {
			o.errLines = append(o.errLines, strings.TrimSuffix(msg, ":"))
		}
	default:
		if m := parseEvalLine(s); m != nil && o.onEval != nil {
			o.onEval(m)
		}
	}
}

// failure is the reason the CLI failed: its error message, else its last line of output.
func (o *cliOutput) failure(runErr error) error {
	if len(o.errLines) > 0 {
		return fmt.Errorf("xgboost: %s", strings.Join(o.errLines, ": "))
	}
	if o.last != "" {
		return fmt.Errorf("xgboost: %w: %s", runErr, strings.TrimSpace(o.last))
	}
	return fmt.Errorf("xgboost: %w", runErr)
}

// parseEvalLine returns the metrics of one per-round result line, named as SageMaker names them
// ("validation-auc" becomes "validation:auc"), or nil when s is not such a line.
func parseEvalLine(s string) []Metric {
	m := evalLineRE.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	var out []Metric
	for _, field := range strings.Split(m[2], "\t") {
		name, value, ok := strings.Cut(field, ":")
		if !ok {
			return nil
		}
		set, metric, ok := strings.Cut(name, "-")
		if !ok {
			return nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil
		}
		out = append(out, Metric{Name: set + ":" + metric, Value: v})
	}
	return out
}

// modelFile finds the model in modelDir: xgboost-model, else the directory's only regular file.
func modelFile(modelDir string) (string, error) {
	p := filepath.Join(modelDir, XGBoostModelFile)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		return "", fmt.Errorf("model directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, e.Name())
		}
	}
	if len(files) != 1 {
		return "", fmt.Errorf("model directory %s has no %s and %d other files (want exactly one model file)", modelDir, XGBoostModelFile, len(files))
	}
	return filepath.Join(modelDir, files[0]), nil
}

// sniffFormat says whether the first record of input is libsvm (it has index:value pairs) or CSV.
func sniffFormat(input string) (Format, error) {
	f, err := os.Open(input)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" {
			if strings.Contains(line, ":") {
				return LibSVM, nil
			}
			return CSV, nil
		}
	}
	return CSV, sc.Err()
}

// Predict implements Predictor. Records are CSV features (no label column) or libsvm (which, as in the
// SageMaker container, starts with a label that is ignored); the format is recognised from the first record.
func (x *XGBoost) Predict(ctx context.Context, modelDir, input, output string) (err error) {
	model, err := modelFile(modelDir)
	if err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	if model, err = filepath.Abs(model); err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	format, err := sniffFormat(input)
	if err != nil {
		return fmt.Errorf("xgboost predict: input: %w", err)
	}
	work, err := os.MkdirTemp(x.TempDir, "xgboost-predict-")
	if err != nil {
		return fmt.Errorf("xgboost predict: create scratch directory: %w", err)
	}
	defer os.RemoveAll(work)

	st, err := copyInput(input, filepath.Join(work, "input.data"), format)
	if err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	out, err := os.Create(output)
	if err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("xgboost predict: write %s: %w", output, cerr)
		}
		if err != nil {
			os.Remove(output)
		}
	}()
	if st.rows == 0 {
		return nil
	}
	if err := os.Symlink(model, filepath.Join(work, "model")); err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	uri := "input.data?format=libsvm"
	if format == CSV {
		uri = "input.data?format=csv"
	}
	conf := "task = pred\nmodel_in = model\ntest:data = \"" + uri + "\"\nname_pred = pred.txt\n"
	if err := os.WriteFile(filepath.Join(work, "pred.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("xgboost predict: write configuration: %w", err)
	}
	o := &cliOutput{}
	lw := &lineWriter{onLine: o.line}
	runErr := command(ctx, x.Program, work, nil, lw, "pred.conf").Run()
	lw.flush()
	if runErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("xgboost predict stopped: %w", ctx.Err())
		}
		return fmt.Errorf("xgboost predict: %w", o.failure(runErr))
	}
	return groupPredictions(filepath.Join(work, "pred.txt"), out, st.rows)
}

func copyInput(input, dst string, format Format) (recordStats, error) {
	var st recordStats
	in, err := os.Open(input)
	if err != nil {
		return st, err
	}
	defer in.Close()
	f, err := os.Create(dst)
	if err != nil {
		return st, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := copyRecords(w, in, "input "+filepath.Base(input), format, false, &st); err != nil {
		return st, err
	}
	if err := w.Flush(); err != nil {
		return st, err
	}
	return st, f.Close()
}

// groupPredictions copies the CLI's predictions (one value a line) to out, one record a line: a record with
// several values (multi:softprob) gets them comma-separated.
func groupPredictions(pred string, out io.Writer, rows int) error {
	b, err := os.ReadFile(pred)
	if err != nil {
		return fmt.Errorf("xgboost predict: read predictions: %w", err)
	}
	values := strings.Fields(string(b))
	if len(values)%rows != 0 {
		return fmt.Errorf("xgboost predict: %d predictions for %d records", len(values), rows)
	}
	k := len(values) / rows
	w := bufio.NewWriterSize(out, 1<<20)
	for i := 0; i < len(values); i += k {
		w.WriteString(strings.Join(values[i:i+k], ","))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("xgboost predict: write output: %w", err)
	}
	return nil
}
