package parity

import (
	"strings"
	"testing"
	"time"
)

// machine returns a small valid state machine for the negative tests to break.
func machine() *StateMachine {
	return &StateMachine{
		StartAt: "A",
		States: States{
			{"A", &Task{Resource: "arn:aws:states:::lambda:invoke", Next: "B",
				Retry: []Retrier{{ErrorEquals: []string{"X"}, MaxAttempts: ptr(0)}, {ErrorEquals: []string{errorsAll}}},
				Catch: []Catcher{{ErrorEquals: []string{errorsAll}, Next: "F"}}}},
			{"B", &Choice{Choices: []ChoiceRule{{Variable: "$.x", IsPresent: ptr(true), Next: "S"}}, Default: "P"}},
			{"P", &Pass{Next: "S"}},
			{"S", &Succeed{}},
			{"F", &Fail{Error: "E"}},
		},
	}
}

func TestValidateAcceptsValidMachines(t *testing.T) {
	if err := machine().Validate(); err != nil {
		t.Fatalf("valid machine: %v", err)
	}
	for _, p := range []Pipeline{TrainingPipeline, BatchInferencePipeline, guardedPipeline} {
		cfg := goldenConfig()
		if p == guardedPipeline {
			p, cfg = BatchInferencePipeline, guardedConfig()
		}
		m, err := Build(p, cfg)
		if err != nil {
			t.Fatalf("build %s: %v", p, err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	task := func(m *StateMachine) *Task { return m.States[0].State.(*Task) }
	for _, tc := range []struct {
		name    string
		breakIt func(m *StateMachine)
		want    string
	}{
		{"no states", func(m *StateMachine) { m.States = nil; m.StartAt = "" }, "no states"},
		{"StartAt unknown", func(m *StateMachine) { m.StartAt = "Z" }, `StartAt names no state: "Z"`},
		{"duplicate name", func(m *StateMachine) { m.States = append(m.States, NamedState{"S", &Succeed{}}) }, `"S" is used twice`},
		{"empty name", func(m *StateMachine) { m.States = append(m.States, NamedState{"", &Succeed{}}) }, "empty name"},
		{"long name", func(m *StateMachine) {
			long := strings.Repeat("x", 81)
			m.States = append(m.States, NamedState{long, &Succeed{}})
			m.States[2].State.(*Pass).Next = long
		}, "longer than 80"},
		{"nil state", func(m *StateMachine) { m.States[3].State = nil }, "no definition"},
		{"Next unknown", func(m *StateMachine) { task(m).Next = "Nowhere" }, `Next names no state: "Nowhere"`},
		{"Next and End", func(m *StateMachine) { task(m).End = true }, "both Next and End"},
		{"neither Next nor End", func(m *StateMachine) { m.States[2].State.(*Pass).Next = "" }, "neither Next nor End"},
		{"Catch Next unknown", func(m *StateMachine) { task(m).Catch[0].Next = "G" }, `Catch[0].Next names no state: "G"`},
		{"Default unknown", func(m *StateMachine) { m.States[1].State.(*Choice).Default = "Q" }, `Default names no state: "Q"`},
		{"choice rule Next unknown", func(m *StateMachine) { m.States[1].State.(*Choice).Choices[0].Next = "Q" }, `Choices[0].Next names no state`},
		{"no choices", func(m *StateMachine) { m.States[1].State.(*Choice).Choices = nil }, "Choices is empty"},
		{"nested rule with Next", func(m *StateMachine) {
			m.States[1].State.(*Choice).Choices[0] = ChoiceRule{Not: &ChoiceRule{Variable: "$.x", IsPresent: ptr(true), Next: "S"}, Next: "S"}
		}, "nested rule Choices[0].Not has a Next"},
		{"unreachable", func(m *StateMachine) { m.States = append(m.States, NamedState{"Orphan", &Succeed{}}) }, `"Orphan" is not reachable`},
		{"States.ALL not last in Retry", func(m *StateMachine) { task(m).Retry[0], task(m).Retry[1] = task(m).Retry[1], task(m).Retry[0] }, "Retry[0] uses States.ALL but is not the last entry"},
		{"States.ALL with others in Catch", func(m *StateMachine) { task(m).Catch[0].ErrorEquals = []string{"X", errorsAll} }, "Catch[0] lists States.ALL with other errors"},
		{"empty ErrorEquals", func(m *StateMachine) { task(m).Retry[0].ErrorEquals = nil }, "Retry[0] ErrorEquals is empty"},
		{"negative MaxAttempts", func(m *StateMachine) { task(m).Retry[0].MaxAttempts = ptr(-1) }, "MaxAttempts is negative"},
		{"no Resource", func(m *StateMachine) { task(m).Resource = "" }, "Resource is empty"},
		{"Error and ErrorPath", func(m *StateMachine) { m.States[4].State.(*Fail).ErrorPath = "$.e" }, "Error and ErrorPath are both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := machine()
			tc.breakIt(m)
			err := m.Validate()
			if err == nil {
				t.Fatalf("Validate accepted a broken machine")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestBuildRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"no region", func(c *Config) { c.Region = "" }, "region"},
		{"bad account", func(c *Config) { c.AccountID = "12" }, "account ID"},
		{"bad bucket", func(c *Config) { c.Activities.Bucket = "Not_A_Bucket" }, "bucket"},
		{"bad function", func(c *Config) { c.Activities.Functions.MonitorPerformance = "no spaces allowed" }, "lambda function"},
		{"same names", func(c *Config) { c.TrainingStateMachine, c.BatchInferenceStateMachine = "m", "m" }, "share the name"},
		{"bad threshold", func(c *Config) { c.Activities.DefaultThreshold = 2 }, "threshold"},
		{"cooldown in fractions of a second", func(c *Config) { c.Activities.RetrainCooldown = 1500 * time.Millisecond }, "whole seconds"},
		{"cap beyond a page", func(c *Config) { c.Activities.MaxRetrainsPerDay = 101 }, "at most 100"},
		{"placeholder in a value", func(c *Config) { c.Activities.Hyperparameters = map[string]string{"num_round": ref("$.x")} }, "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := goldenConfig()
			tc.change(&cfg)
			for _, p := range Pipelines() {
				_, err := Build(p, cfg)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v does not mention %q", p, err, tc.want)
				}
			}
		})
	}
	if _, err := Build("nightly", goldenConfig()); err == nil {
		t.Error("Build accepted an unknown pipeline")
	}
	if _, err := ParsePipeline("nightly"); err == nil {
		t.Error("ParsePipeline accepted an unknown pipeline")
	}
}
