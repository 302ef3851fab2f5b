package algorithm

import (
	"bufio"
	"bytes"
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

// XGBoost stands in for the SageMaker built-in XGBoost images with Debian's XGBoost 1.7: training runs the
// command-line program (the xgboost package), prediction runs in libxgboost through its C API (cgo; the
// libxgboost-dev package to build). Each reads its input as the SageMaker container does: training data with
// XGBoost's own CSV/libsvm reader (the container's file-mode xgb.DMatrix("path?format=csv&label_column=0")),
// inference records with the nearest float64 then float32 (the container's numpy parse). XGBoost removed the
// program in 3.2; the Algorithm interface keeps that replaceable.
//
// Training follows the SageMaker XGBoost container: hyperparameters are validated as the container does
// (unknown ones fail the job, see parseXGBoostHyperparameters), channel train is required and validation
// optional, a channel's files are checked and concatenated in key order, and the model is evaluated on
// train and validation after every round. Prediction writes one line per input record, each float32
// prediction with 9 significant digits, which round-trips: a prediction parsed as float32 equals the
// container's (Python's Booster.predict on numpy-parsed records) bit for bit. Multi-output objectives
// (multi:softprob) write the record's values comma-separated on its line.
type XGBoost struct {
	// Program is the path of the XGBoost command-line program.
	Program string
	// Version is what the program reported for -V, e.g. "1.7.4".
	Version string
	// LibVersion is the version of the linked libxgboost, e.g. "1.7.4".
	LibVersion string
}

var xgbVersionRE = regexp.MustCompile(`(?m)^XGBoost: (\S+)\s*$`)

// NewXGBoost checks that program (looked up on PATH when it has no slash; "xgboost" when empty) is the
// XGBoost command-line program, of the same version as the linked libxgboost, and returns the algorithm.
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
	lib, err := libXGBoostVersion()
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	if lib != string(m[1]) {
		return nil, fmt.Errorf("xgboost program %q is version %s but libxgboost is %s: install the same version of both", path, m[1], lib)
	}
	return &XGBoost{Program: path, Version: string(m[1]), LibVersion: lib}, nil
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
	if err := os.MkdirAll(Root(root).OutputDir(), 0o755); err != nil {
		return fmt.Errorf("write failure file: %w", err)
	}
	if err := os.WriteFile(Root(root).Failure(), []byte(reason), 0o644); err != nil {
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
	layout := Root(root)
	hp := map[string]string{}
	if _, err := readJSON(layout.Hyperparameters(), &hp); err != nil {
		return nil, clientError(err)
	}
	params, err := parseXGBoostHyperparameters(hp)
	if err != nil {
		return nil, clientError(err)
	}
	var channels map[string]channelConfig
	found, err := readJSON(layout.InputDataConfig(), &channels)
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
		st, err := concatChannel(layout.Channel(name), name, format, filepath.Join(work, name+".data"))
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
	for _, n := range params.notes {
		fmt.Fprintln(logs, n)
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
	runErr := run(command(ctx, x.Program, work, nil, lw, "train.conf"), root)
	lw.flush()
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, algorithmError(out.failure(runErr))
	}
	modelDir := layout.ModelDir()
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

// libMessage is the text of a libxgboost error without its time, source location and stack trace.
func libMessage(s string) string {
	s, _, _ = strings.Cut(s, "Stack trace:")
	return strings.TrimSpace(logPrefixRE.ReplaceAllString(strings.TrimSpace(s), ""))
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

// modelFile finds the model in modelDir: xgboost-model, else the directory's only regular file that is not
// a dotfile.
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
		// Dotfiles are not models: the container skips them too (and PIDFile is one).
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
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
//
// Prediction runs in libxgboost (its C API), not in the command-line program, because the container parses
// inference input with numpy: every value is the decimal rounded to the nearest float64 and then to float32
// (np.array(...).astype(float) and xgb.DMatrix), so a value that lies on a split point goes down the same
// branch as in SageMaker. XGBoost's own text parser reads some decimals one float32 step off (1.5694, 1.8451).
// Records are scored in batches, so memory stays bounded whatever the size of the input.
func (x *XGBoost) Predict(ctx context.Context, modelDir, input, output string) (err error) {
	model, err := modelFile(modelDir)
	if err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	format, err := sniffFormat(input)
	if err != nil {
		return fmt.Errorf("xgboost predict: input: %w", err)
	}
	st, err := checkInput(input, format)
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
	b, err := loadBooster(model, hostThreads())
	if err != nil {
		return fmt.Errorf("xgboost predict: load model %s: %w", filepath.Base(model), err)
	}
	defer b.close()
	w := bufio.NewWriterSize(out, 1<<20)
	if err := scoreRecords(ctx, b, input, format, st.width, w); err != nil {
		return fmt.Errorf("xgboost predict: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("xgboost predict: write %s: %w", output, err)
	}
	return nil
}

// checkInput checks every record of input and counts them.
func checkInput(input string, format Format) (recordStats, error) {
	var st recordStats
	in, err := os.Open(input)
	if err != nil {
		return st, err
	}
	defer in.Close()
	err = copyRecords(bufio.NewWriter(io.Discard), in, "input "+filepath.Base(input), format, false, &st)
	return st, err
}

// Batches of records handed to libxgboost: at most batchRows records or about batchValues values.
const (
	batchRows   = 1 << 16
	batchValues = 1 << 22
)

// parseValue reads a number of the input as the SageMaker container does: the nearest float64, then the
// nearest float32 (numpy's astype(float), then DMatrix). Going through float64 is not the same as rounding
// to float32 at once for a decimal close to the midpoint of two float32 values.
func parseValue(b []byte) float32 {
	// checkCSV and checkLibSVM accepted the number; out of range parses as ±Inf or 0, as in numpy.
	v, _ := strconv.ParseFloat(string(b), 64)
	return float32(v)
}

// scoreRecords reads the checked records of input, scores them in batches and writes one line per record.
// width is the CSV field count or one more than the largest libsvm index.
func scoreRecords(ctx context.Context, b *booster, input string, format Format, width int, w *bufio.Writer) error {
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var dense []float32
	var sparse sparseRows
	sparse.reset()
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped: %w", err)
		}
		var preds []float32
		var k int
		var err error
		if format == CSV {
			preds, k, err = b.predictDense(dense, rows, width)
		} else {
			preds, k, err = b.predictSparse(&sparse, width)
		}
		if err != nil {
			return fmt.Errorf("xgboost: %w", err)
		}
		if k < 1 || len(preds) != rows*k {
			return fmt.Errorf("xgboost returned %d predictions for %d records", len(preds), rows)
		}
		for i := 0; i < len(preds); i += k {
			for j, v := range preds[i : i+k] {
				if j > 0 {
					w.WriteByte(',')
				}
				w.Write(formatPrediction(w.AvailableBuffer(), v))
			}
			w.WriteByte('\n')
		}
		dense, rows = dense[:0], 0
		sparse.reset()
		return nil
	}
	for sc.Scan() {
		line := bytes.Trim(sc.Bytes(), " \t\r")
		if len(line) == 0 {
			continue // only trailing blank lines remain: checkInput refused the others
		}
		if format == CSV {
			for _, f := range bytes.Split(line, []byte{','}) {
				dense = append(dense, parseValue(bytes.Trim(f, " \t")))
			}
		} else {
			for i, tok := range bytes.Fields(line)[1:] {
				idx, val, _ := bytes.Cut(tok, []byte{':'})
				if i == 0 && string(idx) == "qid" {
					continue
				}
				n, _ := strconv.ParseUint(string(idx), 10, 32)
				sparse.add(uint32(n), parseValue(val))
			}
			sparse.endRow()
		}
		rows++
		if rows >= batchRows || len(dense)+len(sparse.values) >= batchValues {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	return flush()
}

// formatPrediction appends v with 9 significant digits, which is enough for the text to parse back to the
// same float32 (what the XGBoost command-line program prints too).
func formatPrediction(dst []byte, v float32) []byte {
	return strconv.AppendFloat(dst, float64(v), 'g', 9, 32)
}
