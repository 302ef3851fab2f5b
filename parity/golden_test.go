package parity

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdlc/mdlc/activities"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the emitters")

// goldenConfig is the configuration of the golden files: the defaults, in a fixed account.
func goldenConfig() Config {
	return Config{
		Activities: activities.Config{Bucket: "mdlc-demo", RoleArn: "arn:aws:iam::123456789012:role/mdlc-sagemaker", DefaultThreshold: activities.DefaultThreshold},
		Region:     "us-west-2",
		AccountID:  "123456789012",
	}
}

// guardedPipeline stands, in the tests that go through the pipelines, for the batch-inference pipeline built
// with guardedConfig.
const guardedPipeline Pipeline = "batch-inference (guarded)"

// guardedConfig is goldenConfig with both retrain guards on: a cooldown and a daily cap.
func guardedConfig() Config {
	c := goldenConfig()
	c.Activities.RetrainCooldown = 24 * time.Hour
	c.Activities.MaxRetrainsPerDay = 3
	return c
}

func TestGolden(t *testing.T) {
	china := goldenConfig()
	china.Region = "cn-north-1"
	china.Activities.RoleArn = "arn:aws-cn:iam::123456789012:role/mdlc-sagemaker"
	china.Activities.Functions.MonitorPerformance = "arn:aws-cn:lambda:cn-north-1:123456789012:function:mdlc-monitor:live"
	china.Activities.DefaultThreshold = 0.75
	for _, tc := range []struct {
		file     string
		pipeline Pipeline
		cfg      Config
	}{
		{"training.asl.json", TrainingPipeline, goldenConfig()},
		{"batch-inference.asl.json", BatchInferencePipeline, goldenConfig()},
		{"batch-inference-cn-north-1.asl.json", BatchInferencePipeline, china},
		{"batch-inference-guarded.asl.json", BatchInferencePipeline, guardedConfig()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Emit(&buf, tc.pipeline, tc.cfg); err != nil {
				t.Fatalf("Emit: %v", err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test ./parity -run TestGolden -update to create it): %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the emitter's output; if the change is intended, run go test ./parity -run TestGolden -update\n%s",
					path, lineDiff(string(want), buf.String()))
			}
		})
	}
}
