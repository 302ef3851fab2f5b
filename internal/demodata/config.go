package demodata

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// DateLayout is the form of a data date (YYYY-MM-DD), as it appears in the bucket layout.
const DateLayout = "2006-01-02"

// Defaults of Config, sized so that the demo trains with XGBoost in about a second.
const (
	DefaultSeed             = 42
	DefaultTrainRows        = 15000
	DefaultValidationRows   = 5000
	DefaultHoldoutRows      = 5000
	DefaultFeatures         = 10
	DefaultBaseDate         = "2019-10-01"
	DefaultRotationPerMonth = 55.0
	DefaultShiftPerMonth    = 0.5
)

// Limits on Config, so that a typo fails fast instead of filling a bucket.
const (
	MinFeatures = 2
	MaxFeatures = 1000
	MaxRows     = 100_000_000
)

// DefaultDates are the data dates of the workshop: a model trained on the first scores well on it and poorly
// on the second, which is what the batch-inference pipeline's retraining decision is demonstrated with.
var DefaultDates = []string{"2019-10-01", "2019-11-01"}

// Config describes a demo dataset and where it goes. Its fields map one to one onto command-line flags.
type Config struct {
	// Bucket receives the objects (input-data/<date>/...). Required for Upload, unused by WriteDir.
	Bucket string
	// CreateBucket creates Bucket when it does not exist; an existing bucket of the caller is used as is.
	CreateBucket bool
	// Dates are the data dates to generate (YYYY-MM-DD), each an independent draw.
	Dates []string
	// Seed makes the dataset reproducible: the same Config gives byte-identical files.
	Seed int64
	// TrainRows, ValidationRows and HoldoutRows are the number of rows of each split, per date.
	TrainRows, ValidationRows, HoldoutRows int
	// Features is the number of feature columns.
	Features int
	// BaseDate is the date with the original relationship between features and label; drift grows with
	// the distance of a data date from it (dates before it drift the other way).
	BaseDate string
	// RotationPerMonth is the concept drift: the angle, in degrees per 30 days, by which the coefficients
	// of the logistic model that draws the labels rotate. 0 disables it.
	RotationPerMonth float64
	// ShiftPerMonth is the covariate drift: how far the mean of the first feature moves, in standard
	// deviations per 30 days. 0 disables it.
	ShiftPerMonth float64
}

// DefaultConfig returns the demo dataset's configuration, without a bucket.
func DefaultConfig() Config {
	return Config{
		Dates:            append([]string(nil), DefaultDates...),
		Seed:             DefaultSeed,
		TrainRows:        DefaultTrainRows,
		ValidationRows:   DefaultValidationRows,
		HoldoutRows:      DefaultHoldoutRows,
		Features:         DefaultFeatures,
		BaseDate:         DefaultBaseDate,
		RotationPerMonth: DefaultRotationPerMonth,
		ShiftPerMonth:    DefaultShiftPerMonth,
	}
}

// bucketName is the S3 bucket naming rule (general purpose buckets), without the rules on reserved
// prefixes and suffixes, which S3 itself reports.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Validate reports every problem of the configuration at once; it does not check Bucket (see
// ValidateBucket), so that a dataset can be written to a directory without one.
func (c Config) Validate() error {
	var errs []error
	if len(c.Dates) == 0 {
		errs = append(errs, errors.New("no dates"))
	}
	seen := make(map[string]bool, len(c.Dates))
	for _, d := range c.Dates {
		if err := checkDate(d); err != nil {
			errs = append(errs, fmt.Errorf("date %q: %w", d, err))
			continue
		}
		if seen[d] {
			errs = append(errs, fmt.Errorf("date %q: given twice", d))
		}
		seen[d] = true
	}
	if err := checkDate(c.BaseDate); err != nil {
		errs = append(errs, fmt.Errorf("base date %q: %w", c.BaseDate, err))
	}
	for _, r := range []struct {
		name string
		n    int
	}{{"train", c.TrainRows}, {"validation", c.ValidationRows}, {"holdout", c.HoldoutRows}} {
		if r.n < 1 || r.n > MaxRows {
			errs = append(errs, fmt.Errorf("%s rows %d: must be between 1 and %d", r.name, r.n, MaxRows))
		}
	}
	if c.Features < MinFeatures || c.Features > MaxFeatures {
		errs = append(errs, fmt.Errorf("features %d: must be between %d and %d", c.Features, MinFeatures, MaxFeatures))
	}
	if !finite(c.RotationPerMonth) {
		errs = append(errs, fmt.Errorf("rotation per month %v: must be a finite number", c.RotationPerMonth))
	}
	if !finite(c.ShiftPerMonth) || math.Abs(c.ShiftPerMonth) > 100 {
		errs = append(errs, fmt.Errorf("shift per month %v: must be between -100 and 100", c.ShiftPerMonth))
	}
	if len(errs) > 0 {
		return fmt.Errorf("demo dataset config: %w", errors.Join(errs...))
	}
	return nil
}

// ValidateBucket checks that Bucket is a valid S3 bucket name.
func (c Config) ValidateBucket() error {
	if c.Bucket == "" {
		return errors.New("demo dataset config: no bucket")
	}
	if !bucketName.MatchString(c.Bucket) || strings.Contains(c.Bucket, "..") {
		return fmt.Errorf("demo dataset config: bucket %q: not a valid S3 bucket name "+
			"(3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)", c.Bucket)
	}
	return nil
}

// checkDate accepts real calendar dates in YYYY-MM-DD form only (time.Parse alone accepts none that are not,
// but the round trip also rejects forms such as single-digit months).
func checkDate(s string) error {
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Format(DateLayout) != s {
		return errors.New("not a date of the form YYYY-MM-DD")
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
