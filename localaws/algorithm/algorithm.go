// Package algorithm runs SageMaker training algorithms and batch-transform predictors locally, under the
// SageMaker training-container contract, so that localaws can train and predict with real software.
//
// A training job's root directory stands in for /opt/ml:
//
//	<root>/input/config/hyperparameters.json   job hyperparameters (string → string)
//	<root>/input/config/inputdataconfig.json   channels: {"train": {"ContentType": "text/csv", ...}, ...}
//	<root>/input/data/<channel>/...           the channel's objects, downloaded from S3
//	<root>/model/                              what the algorithm leaves here becomes model.tar.gz
//	<root>/output/failure                      written by a failing algorithm: the job's FailureReason
package algorithm

import (
	"context"
	"errors"
	"io"
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
func NewResolver(cfg Config) (Resolver, error) {
	return nil, errors.New("algorithm: not implemented yet")
}
