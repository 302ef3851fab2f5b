package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseDecision(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		status string
		reason string
		by     string
		want   string // "" for a valid decision, else part of the usage error
	}{
		{"approve without a reason", []string{"churn", "2"}, "Approved", "", "alice", ""},
		{"reject with a reason", []string{"churn", "12"}, "Rejected", "worse AUC", "alice", ""},
		{"reject without a reason", []string{"churn", "2"}, "Rejected", "  ", "alice", "reject needs --reason"},
		{"version zero", []string{"churn", "0"}, "Approved", "", "alice", `VERSION "0" must be a version number`},
		{"version not a number", []string{"churn", "v2"}, "Approved", "", "alice", `VERSION "v2" must be a version number`},
		{"version too large", []string{"churn", "99999999999"}, "Approved", "", "alice", "must be a version number"},
		{"bad model name", []string{"my_model", "1"}, "Approved", "", "alice", "--model"},
		{"nobody", []string{"churn", "1"}, "Approved", "", " ", "--by must name who decides"},
		{"reason too long", []string{"churn", "1"}, "Approved", strings.Repeat("x", 1000), "alice", "at most 1024: shorten the reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDecision(tc.args, tc.status, tc.reason, tc.by)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("parseDecision: %v", err)
				}
				if d.model != tc.args[0] || d.status != tc.status {
					t.Errorf("decision %+v", d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseDecision error %v, want it to contain %q", err, tc.want)
			}
			if ExitCode(err) != 2 {
				t.Errorf("exit code %d for a usage error", ExitCode(err))
			}
		})
	}
}

func TestDecisionDescription(t *testing.T) {
	at := time.Date(2019, 11, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	d := decision{model: "churn", version: 2, status: "Rejected", reason: "worse AUC", by: "alice"}
	if got, want := d.description(at), "Rejected by alice at 2019-11-02T02:04:05Z: worse AUC"; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
	d.reason = ""
	if got, want := d.description(at), "Rejected by alice at 2019-11-02T02:04:05Z"; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
}
