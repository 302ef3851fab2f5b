package cli

import (
	"regexp"
	"testing"
	"time"
)

// DurationPattern matches every duration formatDuration prints ("12.3s" below a minute, "1m24s" and
// "1h2m3s" above); the integration tests build their line patterns from it, so a slow machine that pushes a
// step past a minute cannot break them.
const DurationPattern = `(?:\d+\.\ds|(?:\d+h)?(?:\d+m)?\d+s)`

func TestDurationPatternMatchesFormatDuration(t *testing.T) {
	re := regexp.MustCompile(`^` + DurationPattern + `$`)
	for _, d := range []time.Duration{0, 50 * time.Millisecond, 9950 * time.Millisecond, 59 * time.Second,
		time.Minute, 84 * time.Second, 10*time.Minute + 500*time.Millisecond, time.Hour, 26*time.Hour + 3*time.Second} {
		if s := formatDuration(d); !re.MatchString(s) {
			t.Errorf("formatDuration(%v) = %q, which DurationPattern does not match", d, s)
		}
	}
}
