package parity

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// aslValidate runs asl-validator (npm) on definition and returns its output and whether it accepted it.
func aslValidate(t *testing.T, definition []byte) (string, bool) {
	t.Helper()
	node := requireNode(t)
	path := filepath.Join(t.TempDir(), "definition.json")
	if err := os.WriteFile(path, definition, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(jsDir, "node_modules", "asl-validator", "dist", "bin", "asl-validator.js"), "--json-path", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("run asl-validator: %v", err)
	}
	return out.String(), err == nil
}

func TestASLValidatorAcceptsEmittedMachines(t *testing.T) {
	china := goldenConfig()
	china.Region = "cn-north-1"
	for _, tc := range []struct {
		name string
		p    Pipeline
		cfg  Config
	}{
		{"training", TrainingPipeline, goldenConfig()},
		{"batch-inference", BatchInferencePipeline, goldenConfig()},
		{"batch-inference with retrain guards", BatchInferencePipeline, guardedConfig()},
		{"training aws-cn", TrainingPipeline, china},
		{"batch-inference aws-cn", BatchInferencePipeline, china},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var def bytes.Buffer
			if err := Emit(&def, tc.p, tc.cfg); err != nil {
				t.Fatal(err)
			}
			if out, ok := aslValidate(t, def.Bytes()); !ok {
				t.Errorf("asl-validator rejects the emitted %s state machine:\n%s", tc.p, out)
			}
		})
	}
}

// TestASLValidatorCatchesBrokenMachines shows the static check can fail: definitions our own Validate is
// not asked about (an unknown state type, a Task without Resource, a bad path) are rejected.
func TestASLValidatorCatchesBrokenMachines(t *testing.T) {
	var def bytes.Buffer
	if err := Emit(&def, TrainingPipeline, goldenConfig()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"unknown state type", `"Type": "Fail"`, `"Type": "Failed"`},
		{"task without resource", `"Resource": "arn:aws:states:::sagemaker:createModel",`, ``},
		{"invalid path", `"ResultPath": "$.Model"`, `"ResultPath": "Model["`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(def.String(), tc.old, tc.new, 1)
			if broken == def.String() {
				t.Fatalf("the emitted definition has no %q to break", tc.old)
			}
			if out, ok := aslValidate(t, []byte(broken)); ok {
				t.Errorf("asl-validator accepted a broken definition:\n%s", out)
			}
		})
	}
}
