package demodata

import (
	"math"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Dates[0] = "2000-01-01"
	if DefaultDates[0] != "2019-10-01" || DefaultConfig().Dates[0] != "2019-10-01" {
		t.Error("DefaultConfig shares its Dates with DefaultDates")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // in the error
	}{
		{"no dates", func(c *Config) { c.Dates = nil }, "no dates"},
		{"not a date", func(c *Config) { c.Dates = []string{"yesterday"} }, `date "yesterday"`},
		{"impossible day", func(c *Config) { c.Dates = []string{"2019-02-30"} }, `date "2019-02-30"`},
		{"single-digit month", func(c *Config) { c.Dates = []string{"2019-1-01"} }, `date "2019-1-01"`},
		{"date with time", func(c *Config) { c.Dates = []string{"2019-10-01T00:00:00Z"} }, "not a date of the form YYYY-MM-DD"},
		{"duplicate date", func(c *Config) { c.Dates = []string{"2019-10-01", "2019-10-01"} }, "given twice"},
		{"bad base date", func(c *Config) { c.BaseDate = "" }, "base date"},
		{"no train rows", func(c *Config) { c.TrainRows = 0 }, "train rows 0"},
		{"negative validation rows", func(c *Config) { c.ValidationRows = -1 }, "validation rows -1"},
		{"too many holdout rows", func(c *Config) { c.HoldoutRows = MaxRows + 1 }, "holdout rows"},
		{"one feature", func(c *Config) { c.Features = 1 }, "features 1"},
		{"too many features", func(c *Config) { c.Features = MaxFeatures + 1 }, "features 1001"},
		{"NaN rotation", func(c *Config) { c.RotationPerMonth = math.NaN() }, "rotation per month"},
		{"infinite shift", func(c *Config) { c.ShiftPerMonth = math.Inf(1) }, "shift per month"},
		{"every problem at once", func(c *Config) { c.Dates, c.Features = nil, 0 }, "features 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, err := New(c); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"leap day", func(c *Config) { c.Dates = []string{"2020-02-29"} }},
		{"date before the base date", func(c *Config) { c.Dates = []string{"2019-09-01"} }},
		{"no drift", func(c *Config) { c.RotationPerMonth, c.ShiftPerMonth = 0, 0 }},
		{"two features, one row each", func(c *Config) { c.Features, c.TrainRows, c.ValidationRows, c.HoldoutRows = 2, 1, 1, 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateBucket(t *testing.T) {
	tests := []struct {
		bucket string
		ok     bool
	}{
		{"mdlc-demo", true},
		{"my.bucket.1", true},
		{"abc", true},
		{"", false},
		{"ab", false},
		{"UpperCase", false},
		{"under_score", false},
		{"-leading", false},
		{"trailing-", false},
		{"two..dots", false},
		{"s3://mdlc-demo", false},
		{strings.Repeat("a", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.bucket, func(t *testing.T) {
			c := DefaultConfig()
			c.Bucket = tt.bucket
			if err := c.ValidateBucket(); (err == nil) != tt.ok {
				t.Errorf("ValidateBucket(%q) = %v, want ok=%v", tt.bucket, err, tt.ok)
			}
		})
	}
}
