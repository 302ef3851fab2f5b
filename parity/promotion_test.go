package parity

import (
	"encoding/json"
	"testing"
)

// TestDefaultMarginIsTheWorkersMargin: the margin a state machine uses when the request names none is the
// worker's --promotion-margin, in both pipelines (the batch-inference machine passes it to the retrain).
func TestDefaultMarginIsTheWorkersMargin(t *testing.T) {
	for _, p := range Pipelines() {
		cfg := goldenConfig()
		cfg.Activities.PromotionMargin = 0.05
		m, err := Build(p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := m.States.Lookup(StateDefaultMargin)
		if !ok {
			t.Fatalf("%s: no state %q", p, StateDefaultMargin)
		}
		var result struct{ PromotionMargin float64 }
		if err := json.Unmarshal(s.(*Pass).Result, &result); err != nil {
			t.Fatalf("%s: %q result %s: %v", p, StateDefaultMargin, s.(*Pass).Result, err)
		}
		if result.PromotionMargin != 0.05 {
			t.Errorf("%s: default margin %v, want the worker's 0.05", p, result.PromotionMargin)
		}
	}
}
