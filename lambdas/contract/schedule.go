package contract

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/mdlc/mdlc/internal/quote"
)

// A scheduled request names no DataDate: it says how to derive one from the time its schedule meant it to
// run (its nominal time), so that a run that starts late, or that a schedule catches up on, processes the date
// it was scheduled for and not the date of the wall clock. The rule is written once, here (ScheduledDataDate),
// and both engines apply it:
//
//   - A Temporal schedule's action input is static, so the request carries only DataDateOffset; the workflow
//     takes the nominal time from the TemporalScheduledStartTime search attribute the Temporal scheduler sets
//     on each run it starts (recorded in the run's start event, so replay reads the same value).
//   - An EventBridge Scheduler schedule substitutes its scheduled time into the target's input
//     (ScheduledTimePlaceholder), so the state machine's request carries ScheduledTime, and the Initialize
//     function derives the same date from it.
//
// A request may also carry ScheduledTime on Temporal (it wins over the search attribute), which is how a
// person replays one scheduled run by hand.

// ScheduledTimePlaceholder is the context attribute EventBridge Scheduler replaces, in a target's Input, with
// the schedule's scheduled (nominal) time, RFC 3339 in UTC.
const ScheduledTimePlaceholder = "<aws.scheduler.scheduled-time>"

// MaxDataDateOffsetDays bounds DataDateOffset: a year either way.
const MaxDataDateOffsetDays = 366

// dataDateOffset is how DataDateOffset is written: a whole number of days with a sign or not, e.g. -1d, 0d, +2d.
var dataDateOffset = regexp.MustCompile(`^[+-]?[0-9]{1,3}d$`)

// ParseDataDateOffset reads a DataDateOffset ("-1d", "0d", "+2d") as a number of days.
func ParseDataDateOffset(s string) (int, error) {
	bad := fmt.Errorf("data date offset %s must be a whole number of days from -%dd to +%dd, e.g. -1d for the day before the scheduled time or 0d for its day",
		quote.Value(s), MaxDataDateOffsetDays, MaxDataDateOffsetDays)
	if !dataDateOffset.MatchString(s) {
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < -MaxDataDateOffsetDays || n > MaxDataDateOffsetDays {
		return 0, bad
	}
	return n, nil
}

// ParseScheduledTime reads a ScheduledTime: RFC 3339, as EventBridge Scheduler writes its scheduled time.
func ParseScheduledTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("scheduled time %s must be an RFC 3339 time, e.g. 2024-10-01T02:00:00Z", quote.Value(s))
	}
	return t, nil
}

// ScheduledDataDate is the DataDate of a run scheduled for nominal with offset (a DataDateOffset): the
// nominal time's day in UTC, moved by offset days, written YYYY-MM-DD.
func ScheduledDataDate(nominal time.Time, offset string) (string, error) {
	days, err := ParseDataDateOffset(offset)
	if err != nil {
		return "", err
	}
	return nominal.UTC().AddDate(0, 0, days).Format(dateLayout), nil
}

// ResolveDataDate returns the DataDate a valid request (see ValidateRequest) processes: its own DataDate, or,
// for a scheduled request (DataDateOffset given), the date derived from its ScheduledTime or, when it has
// none, from scheduled (the Temporal scheduler's nominal time; nil when the run was not started by a
// schedule). A scheduled request with neither fails: nothing says which date it is for.
func ResolveDataDate(in WorkflowInput, scheduled *time.Time) (string, error) {
	if in.DataDateOffset == "" {
		return in.DataDate, nil
	}
	var nominal time.Time
	switch {
	case in.ScheduledTime != "":
		t, err := ParseScheduledTime(in.ScheduledTime)
		if err != nil {
			return "", err
		}
		nominal = t
	case scheduled != nil:
		nominal = *scheduled
	default:
		return "", fmt.Errorf("data date offset %s needs the schedule's time to derive the data date from, and the run has none: start it from a schedule (starter schedule create), or give a ScheduledTime, or give a DataDate instead of the offset",
			quote.Value(in.DataDateOffset))
	}
	return ScheduledDataDate(nominal, in.DataDateOffset)
}
