// Package algorithm runs SageMaker training algorithms and batch-transform predictors locally, under the
// SageMaker training-container contract, so that localaws can train and predict with real software.
//
// A training job's root directory stands in for /opt/ml (Root names each place, for the job's runner and
// the algorithms alike):
//
//	<root>/input/config/hyperparameters.json   job hyperparameters (string → string)
//	<root>/input/config/inputdataconfig.json   channels: {"train": {"ContentType": "text/csv", ...}, ...}
//	<root>/input/config/resourceconfig.json    hosts: {"current_host": "algo-1", "hosts": ["algo-1"]}
//	<root>/input/data/<channel>/...            the channel's objects, downloaded from S3
//	<root>/model/                              what the algorithm leaves here becomes model.tar.gz
//	<root>/output/failure                      written by a failing algorithm: the job's FailureReason
//	<root>/output/metrics.json                 a mapped command's final metrics (MetricsFile)
//
// Two kinds of algorithm are provided. XGBoost stands in for the SageMaker built-in XGBoost images
// (IsXGBoostImage): it trains with the XGBoost 1.x command-line program and predicts in-process through
// libxgboost's C API (cgo), each reading its input as the SageMaker container does (see XGBoost). Command
// runs a local program that implements the contract, for images mapped to it with Config.Commands
// (localaws's --image-command REGEX=COMMAND). NewResolver picks one per image URI.
//
// Algorithm processes (the XGBoost program, mapped commands) run in their own process group, get SIGKILL when
// localaws dies (Linux), and are recorded in their working directory (PIDFile) while they run, so that a
// restarted localaws can end what a killed one left behind (KillLeftover).
//
// Not supported: a build without cgo has no XGBoost (NewResolver says so); missing values in CSV records.
package algorithm

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Metric is one final metric a training run reports, named as SageMaker names them (e.g. "validation:auc").
type Metric struct {
	Name  string
	Value float64
}

// Trainer trains a model under the training-container contract.
type Trainer interface {
	// Train runs the algorithm to completion on the job laid out under root and returns its final metrics.
	// The model files are left in <root>/model. The algorithm's log lines go to logs. On failure it returns an
	// error whose message is the reason to report as the job's FailureReason (the content of
	// <root>/output/failure when the algorithm wrote one). Cancelling ctx ends the algorithm's process.
	Train(ctx context.Context, root string, logs io.Writer) ([]Metric, error)
}

// Predictor scores records with a trained model.
type Predictor interface {
	// Predict reads the records in the file input (one record a line, text/csv features without a label,
	// or libsvm), scores them with the model whose files (model.tar.gz already unpacked) are in modelDir, and
	// writes one prediction a line to the file output, in input order. Cancelling ctx ends the work.
	Predict(ctx context.Context, modelDir, input, output string) error
}

// Algorithm trains and predicts.
type Algorithm interface {
	Trainer
	Predictor
}

// Resolver maps a container image URI to the local algorithm that stands in for it.
type Resolver interface {
	// Resolve returns the algorithm for image, or an error that says the image is not supported locally and
	// how to map it to a local command.
	Resolve(image string) (Algorithm, error)
}

// Config says where local algorithms come from.
type Config struct {
	// XGBoost is the path of the XGBoost command-line program; "xgboost" (looked up on PATH) when empty.
	XGBoost string
	// Commands maps images (regular expressions matched against the whole image URI) to local commands that
	// implement the training-container contract.
	Commands map[string]string
}

// NewResolver returns the resolver for cfg: the built-in SageMaker XGBoost images map to XGBoost, images
// matched by cfg.Commands to those commands, anything else is an error.
//
// A pattern in cfg.Commands takes precedence over the built-in XGBoost mapping, so a user can stand in for
// the XGBoost images with their own program; an image that several patterns match is an error rather than a
// guess. The XGBoost program is checked here (it must run and report its version), so a missing one fails at
// start-up, not in the first training job.
func NewResolver(cfg Config) (Resolver, error) {
	xgb, err := NewXGBoost(cfg.XGBoost)
	if err != nil {
		return nil, fmt.Errorf("algorithm resolver: %w", err)
	}
	r := &resolver{xgboost: xgb}
	patterns := make([]string, 0, len(cfg.Commands))
	for p := range cfg.Commands {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			return nil, fmt.Errorf("algorithm resolver: image pattern %q: %w", p, err)
		}
		c, err := NewCommand(cfg.Commands[p])
		if err != nil {
			return nil, fmt.Errorf("algorithm resolver: image pattern %q: %w", p, err)
		}
		r.commands = append(r.commands, mappedCommand{pattern: p, re: re, command: c})
	}
	return r, nil
}

type mappedCommand struct {
	pattern string
	re      *regexp.Regexp
	command *Command
}

type resolver struct {
	xgboost  *XGBoost
	commands []mappedCommand
}

// Resolve implements Resolver.
func (r *resolver) Resolve(image string) (Algorithm, error) {
	var matched []mappedCommand
	for _, m := range r.commands {
		if m.re.MatchString(image) {
			matched = append(matched, m)
		}
	}
	switch {
	case len(matched) == 1:
		return matched[0].command, nil
	case len(matched) > 1:
		names := make([]string, len(matched))
		for i, m := range matched {
			names[i] = strconv.Quote(m.pattern)
		}
		return nil, fmt.Errorf("image %q matches several image command patterns (%s): make them exclusive", image, strings.Join(names, ", "))
	case IsXGBoostImage(image):
		return r.xgboost, nil
	}
	return nil, fmt.Errorf("image %q is not supported locally: only the SageMaker built-in XGBoost images are; "+
		"map it to a local program that implements the training-container contract with "+
		"--image-command REGEX=COMMAND on localaws (REGEX matches the whole image URI)", image)
}
