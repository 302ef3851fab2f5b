package algorithm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Environment variables a mapped command receives.
const (
	// EnvRoot is the job's root directory, standing in for /opt/ml (see the package comment).
	EnvRoot = "SM_ROOT"
	// EnvModelDir is <root>/model when training, and the unpacked model's directory when predicting.
	EnvModelDir = "SM_MODEL_DIR"
	// EnvChannelPrefix followed by a channel's name in upper case (SM_CHANNEL_TRAIN) is that channel's data
	// directory, as in SageMaker's framework containers.
	EnvChannelPrefix = "SM_CHANNEL_"
)

// MetricsFile is where a mapped command may leave its final metrics, relative to the job's root: a JSON
// object from SageMaker metric name to number, e.g. {"validation:auc": 0.93}.
const MetricsFile = "output/metrics.json"

// Command is an algorithm implemented by a local program under the training-container contract:
//
//   - Training runs "PROGRAM train" in the job's root directory with SM_ROOT set to that directory (and
//     SM_MODEL_DIR, SM_CHANNEL_<NAME>). The program reads <root>/input/..., leaves its model in <root>/model,
//     may write its final metrics to <root>/output/metrics.json, and exits 0. To fail it writes the reason to
//     <root>/output/failure and exits non-zero; without a failure file the reason is its exit status and
//     last line of output. Its output is the job's log.
//   - Batch prediction runs "PROGRAM predict MODEL_DIR INPUT OUTPUT" in MODEL_DIR, with SM_MODEL_DIR set: it
//     reads the records of the file INPUT and writes one prediction a line, in input order, to the file
//     OUTPUT, then exits 0.
//
// The program is run directly, never through a shell; cancelling the context kills its process group. While
// it runs, its process group is recorded in PIDFile in its working directory (the root, or MODEL_DIR).
type Command struct {
	// Program is the absolute path of the program.
	Program string
}

// NewCommand checks that program (looked up on PATH when it has no slash) is an executable file.
func NewCommand(program string) (*Command, error) {
	if program == "" {
		return nil, errors.New("algorithm command: empty program")
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("algorithm command %q: %w", program, err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, fmt.Errorf("algorithm command %q: %w", program, err)
	}
	return &Command{Program: path}, nil
}

// Train implements Trainer.
func (c *Command) Train(ctx context.Context, root string, logs io.Writer) ([]Metric, error) {
	if logs == nil {
		logs = io.Discard
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("algorithm command %s: %w", c.Program, err)
	}
	layout := Root(root)
	env := append(os.Environ(), EnvRoot+"="+root, EnvModelDir+"="+layout.ModelDir())
	data := layout.DataDir()
	if entries, err := os.ReadDir(data); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				env = append(env, EnvChannelPrefix+strings.ToUpper(e.Name())+"="+layout.Channel(e.Name()))
			}
		}
	}
	if err := os.MkdirAll(layout.ModelDir(), 0o755); err != nil {
		return nil, fmt.Errorf("algorithm command %s: %w", c.Program, err)
	}
	if err := os.MkdirAll(layout.OutputDir(), 0o755); err != nil {
		return nil, fmt.Errorf("algorithm command %s: %w", c.Program, err)
	}
	var last string
	lw := &lineWriter{logs: logs, onLine: func(s string) {
		if strings.TrimSpace(s) != "" {
			last = s
		}
	}}
	runErr := run(command(ctx, c.Program, root, env, lw, "train"), root)
	lw.flush()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("algorithm command %s stopped: %w", filepath.Base(c.Program), ctx.Err())
	}
	if runErr != nil {
		b, err := os.ReadFile(layout.Failure())
		if reason := strings.TrimSpace(string(b)); err == nil && reason != "" {
			return nil, errors.New(reason)
		}
		reason := fmt.Sprintf("AlgorithmError: %s train: %v", filepath.Base(c.Program), runErr)
		if last != "" {
			reason += ": " + strings.TrimSpace(last)
		}
		if werr := WriteFailure(root, reason); werr != nil {
			return nil, fmt.Errorf("%s (and %w)", reason, werr)
		}
		return nil, errors.New(reason)
	}
	metrics, err := readMetricsFile(layout.Metrics())
	if err != nil {
		reason := fmt.Sprintf("AlgorithmError: %s train: %v", filepath.Base(c.Program), err)
		if werr := WriteFailure(root, reason); werr != nil {
			return nil, fmt.Errorf("%s (and %w)", reason, werr)
		}
		return nil, errors.New(reason)
	}
	return metrics, nil
}

func readMetricsFile(file string) ([]Metric, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", MetricsFile, err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of metric names to numbers: %w", MetricsFile, err)
	}
	out := make([]Metric, 0, len(m))
	for name, v := range m {
		if name == "" || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: metric %q has no name or no finite value", MetricsFile, name)
		}
		out = append(out, Metric{Name: name, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Predict implements Predictor.
func (c *Command) Predict(ctx context.Context, modelDir, input, output string) error {
	var paths [3]string
	for i, p := range []string{modelDir, input, output} {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("algorithm command %s predict: %w", c.Program, err)
		}
		paths[i] = abs
	}
	last := ""
	lw := &lineWriter{logs: nil, onLine: func(s string) {
		if strings.TrimSpace(s) != "" {
			last = s
		}
	}}
	env := append(os.Environ(), EnvModelDir+"="+paths[0])
	runErr := run(command(ctx, c.Program, paths[0], env, lw, "predict", paths[0], paths[1], paths[2]), paths[0])
	lw.flush()
	if ctx.Err() != nil {
		return fmt.Errorf("algorithm command %s predict stopped: %w", filepath.Base(c.Program), ctx.Err())
	}
	if runErr != nil {
		msg := fmt.Sprintf("algorithm command %s predict: %v", filepath.Base(c.Program), runErr)
		if last != "" {
			msg += ": " + strings.TrimSpace(last)
		}
		return errors.New(msg)
	}
	if _, err := os.Stat(paths[2]); err != nil {
		return fmt.Errorf("algorithm command %s predict: no output: %w", filepath.Base(c.Program), err)
	}
	return nil
}
