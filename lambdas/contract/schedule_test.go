package contract

import (
	"strings"
	"testing"
	"time"
)

// TestScheduledDataDate: the date is the nominal time's UTC day moved by the offset, across month and year
// ends and a leap day.
func TestScheduledDataDate(t *testing.T) {
	for _, tc := range []struct{ nominal, offset, want string }{
		{"2024-10-01T02:00:00Z", "0d", "2024-10-01"},
		{"2024-10-01T02:00:00Z", "-1d", "2024-09-30"},
		{"2024-10-01T02:00:00Z", "+1d", "2024-10-02"},
		{"2024-10-01T02:00:00Z", "1d", "2024-10-02"},
		{"2024-03-01T00:00:00Z", "-1d", "2024-02-29"},
		{"2025-01-01T00:00:00Z", "-1d", "2024-12-31"},
		{"2024-10-01T23:30:00-02:00", "0d", "2024-10-02"}, // 01:30 UTC the next day
		{"2024-10-01T00:30:00+01:00", "0d", "2024-09-30"},
		{"2024-10-01T00:00:00Z", "-366d", "2023-10-01"},
	} {
		nominal, err := time.Parse(time.RFC3339, tc.nominal)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ScheduledDataDate(nominal, tc.offset)
		if err != nil || got != tc.want {
			t.Errorf("ScheduledDataDate(%s, %s) = %q, %v; want %q", tc.nominal, tc.offset, got, err, tc.want)
		}
	}
}

func TestParseDataDateOffsetRejects(t *testing.T) {
	for _, s := range []string{"", "-1", "1 d", "-1h", "-24h", "d", "--1d", "+-1d", "-367d", "1000d", "yesterday", "1D"} {
		if _, err := ParseDataDateOffset(s); err == nil || !strings.Contains(err.Error(), "whole number of days") {
			t.Errorf("ParseDataDateOffset(%q) = %v, want an error saying how to write it", s, err)
		}
	}
}

// TestResolveDataDate: the request's own date; the ScheduledTime over the scheduler's nominal time; the
// nominal time; neither.
func TestResolveDataDate(t *testing.T) {
	nominal := time.Date(2024, 10, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		in        WorkflowInput
		scheduled *time.Time
		want, err string
	}{
		{"dated request", WorkflowInput{DataDate: "2024-08-01"}, &nominal, "2024-08-01", ""},
		{"scheduler's nominal time", WorkflowInput{DataDateOffset: "-1d"}, &nominal, "2024-09-30", ""},
		{"ScheduledTime wins", WorkflowInput{DataDateOffset: "-1d", ScheduledTime: "2024-08-02T00:00:00Z"}, &nominal, "2024-08-01", ""},
		{"ScheduledTime alone", WorkflowInput{DataDateOffset: "0d", ScheduledTime: "2024-08-02T00:00:00Z"}, nil, "2024-08-02", ""},
		{"no time at all", WorkflowInput{DataDateOffset: "0d"}, nil, "", "needs the schedule's time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveDataDate(tc.in, tc.scheduled)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestScheduledRequestRules: a scheduled request is valid without a DataDate; the combinations that say
// the date twice, or not at all, are not.
func TestScheduledRequestRules(t *testing.T) {
	valid := []WorkflowInput{
		{ModelName: "m", DataDateOffset: "-1d"},
		{ModelName: "m", DataDateOffset: "0d", ScheduledTime: "2024-10-01T02:00:00Z"},
	}
	for _, in := range valid {
		if err := ValidateRequest(InferenceRequest, in); err != nil {
			t.Errorf("%+v: %v", in, err)
		}
	}
	for _, tc := range []struct {
		in   WorkflowInput
		want string
	}{
		{WorkflowInput{ModelName: "m"}, "data date \"\" must be a real date"},
		{WorkflowInput{ModelName: "m", DataDate: "2024-10-01", DataDateOffset: "-1d"}, "are both given"},
		{WorkflowInput{ModelName: "m", DataDate: "2024-10-01", ScheduledTime: "2024-10-01T02:00:00Z"}, "without a data date offset"},
		{WorkflowInput{ModelName: "m", DataDateOffset: "-1w"}, "whole number of days"},
		{WorkflowInput{ModelName: "m", DataDateOffset: "0d", ScheduledTime: "2024-10-01"}, "must be an RFC 3339 time"},
	} {
		if err := ValidateRequest(TrainingRequest, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
