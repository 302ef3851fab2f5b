package algorithm

import "path/filepath"

// Root is a training job's root directory, which stands in for /opt/ml (see the package comment). Its
// methods name the places of the training-container contract under it, for the job's runner (package
// sagemaker, which lays them out) and the algorithms (which read and write them): the layout has this one
// author.
type Root string

func (r Root) path(elem ...string) string {
	return filepath.Join(append([]string{string(r)}, elem...)...)
}

// ConfigDir is <root>/input/config, which holds the job's configuration files.
func (r Root) ConfigDir() string { return r.path("input", "config") }

// Hyperparameters is <root>/input/config/hyperparameters.json: the job's hyperparameters (string → string).
func (r Root) Hyperparameters() string { return filepath.Join(r.ConfigDir(), "hyperparameters.json") }

// InputDataConfig is <root>/input/config/inputdataconfig.json: the job's channels, by name.
func (r Root) InputDataConfig() string { return filepath.Join(r.ConfigDir(), "inputdataconfig.json") }

// ResourceConfig is <root>/input/config/resourceconfig.json: the job's hosts (locally one, algo-1).
func (r Root) ResourceConfig() string { return filepath.Join(r.ConfigDir(), "resourceconfig.json") }

// DataDir is <root>/input/data, which holds one directory per channel.
func (r Root) DataDir() string { return r.path("input", "data") }

// Channel is <root>/input/data/<channel>: the channel's objects, downloaded from S3.
func (r Root) Channel(name string) string { return filepath.Join(r.DataDir(), name) }

// ModelDir is <root>/model: what the algorithm leaves there becomes model.tar.gz.
func (r Root) ModelDir() string { return r.path("model") }

// OutputDir is <root>/output.
func (r Root) OutputDir() string { return r.path("output") }

// Failure is <root>/output/failure, written by a failing algorithm: the job's FailureReason.
func (r Root) Failure() string { return filepath.Join(r.OutputDir(), "failure") }

// Metrics is <root>/output/metrics.json (MetricsFile), where a mapped command may leave its final metrics.
func (r Root) Metrics() string { return r.path(filepath.FromSlash(MetricsFile)) }
