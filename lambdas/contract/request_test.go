package contract

import "testing"

func TestRequestRulesHaveDistinctNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range RequestRules() {
		if seen[r.Name] || r.Field == "" || r.Break == nil || r.check == nil || len(r.Kinds) == 0 {
			t.Errorf("rule %q is a duplicate or incomplete", r.Name)
		}
		seen[r.Name] = true
	}
}
