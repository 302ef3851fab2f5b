package localaws_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdlc/mdlc/internal/demodata"
	"github.com/mdlc/mdlc/localaws"
)

// TestAWSCLISageMakerFlow drives the pipeline's SageMaker flow with the AWS CLI, an independent client: upload
// data, create a training job and wait for Completed, create a model, run a batch transform and read its .out
// file — with real XGBoost behind localaws.
func TestAWSCLISageMakerFlow(t *testing.T) {
	e := start(t, "", func(o *localaws.Options) { o.Algorithms = nil }) // nil: the real resolver (XGBoost)
	cfg := demodata.DefaultConfig()
	cfg.Dates = []string{"2019-10-01"}
	cfg.TrainRows, cfg.ValidationRows, cfg.HoldoutRows = 2000, 500, 300
	ds, err := demodata.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := ds.WriteDir(data, nil); err != nil {
		t.Fatal(err)
	}
	runCLI(t, e, "s3", "mb", "s3://cli-flow")
	runCLI(t, e, "s3", "cp", "--recursive", data, "s3://cli-flow/")

	dir := t.TempDir()
	channels := filepath.Join(dir, "channels.json")
	writeJSON(t, channels, []map[string]any{
		channel("train", "s3://cli-flow/input-data/2019-10-01/train"),
		channel("validation", "s3://cli-flow/input-data/2019-10-01/validation"),
	})
	const image = "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"
	runCLI(t, e, "sagemaker", "create-training-job",
		"--training-job-name", "cli-flow-train",
		"--role-arn", "arn:aws:iam::000000000000:role/cli",
		"--algorithm-specification", "TrainingImage="+image+",TrainingInputMode=File",
		"--input-data-config", "file://"+channels,
		"--output-data-config", "S3OutputPath=s3://cli-flow/model",
		"--resource-config", "InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=10",
		"--stopping-condition", "MaxRuntimeInSeconds=600",
		"--hyper-parameters", "objective=binary:logistic,num_round=20,max_depth=4,eta=0.2")
	job := waitCLI(t, e, "describe-training-job", "--training-job-name", "cli-flow-train", "TrainingJobStatus")
	if job["TrainingJobStatus"] != "Completed" {
		t.Fatalf("training job ended %v: %v", job["TrainingJobStatus"], job["FailureReason"])
	}
	artifacts := job["ModelArtifacts"].(map[string]any)["S3ModelArtifacts"].(string)
	if artifacts != "s3://cli-flow/model/cli-flow-train/output/model.tar.gz" {
		t.Errorf("model artifacts at %s", artifacts)
	}

	runCLI(t, e, "sagemaker", "create-model", "--model-name", "cli-flow-model",
		"--execution-role-arn", "arn:aws:iam::000000000000:role/cli",
		"--primary-container", "Image="+image+",ModelDataUrl="+artifacts)
	runCLI(t, e, "sagemaker", "create-transform-job", "--transform-job-name", "cli-flow-transform",
		"--model-name", "cli-flow-model",
		"--transform-input", `{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://cli-flow/input-data/2019-10-01/holdout_data"}},"ContentType":"text/csv","SplitType":"Line"}`,
		"--transform-output", "S3OutputPath=s3://cli-flow/output,Accept=text/csv,AssembleWith=Line",
		"--transform-resources", "InstanceType=ml.c4.2xlarge,InstanceCount=1")
	tj := waitCLI(t, e, "describe-transform-job", "--transform-job-name", "cli-flow-transform", "TransformJobStatus")
	if tj["TransformJobStatus"] != "Completed" {
		t.Fatalf("transform job ended %v: %v", tj["TransformJobStatus"], tj["FailureReason"])
	}
	out := filepath.Join(dir, "holdout_data.csv.out")
	runCLI(t, e, "s3", "cp", "s3://cli-flow/output/holdout_data.csv.out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != cfg.HoldoutRows {
		t.Fatalf("%d predictions for %d holdout rows", len(lines), cfg.HoldoutRows)
	}
	for i, l := range lines {
		var p float64
		if err := json.Unmarshal([]byte(l), &p); err != nil || p < 0 || p > 1 {
			t.Fatalf("prediction %d is %q, not a probability", i+1, l)
		}
	}
}

func channel(name, uri string) map[string]any {
	return map[string]any{
		"ChannelName": name, "ContentType": "text/csv",
		"DataSource": map[string]any{"S3DataSource": map[string]any{
			"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated",
		}},
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitCLI describes a job with the CLI until its status field is terminal (the CLI's own waiters poll every
// 60-120 s) and returns the last description.
func waitCLI(t *testing.T, e *env, op, flag, name, statusField string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var d map[string]any
		if err := json.Unmarshal([]byte(runCLI(t, e, "sagemaker", op, flag, name)), &d); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		switch d[statusField] {
		case "Completed", "Failed", "Stopped":
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %v after 3 minutes", op, name, d[statusField])
		}
		time.Sleep(500 * time.Millisecond)
	}
}
