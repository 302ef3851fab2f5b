package parity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mdlc/mdlc/lambdas/contract"
)

// The Step Functions side of `starter schedule`: an EventBridge Scheduler schedule that starts a state
// machine with a scheduled request. EventBridge Scheduler substitutes the schedule's scheduled time into the
// target's Input (contract.ScheduledTimePlaceholder), so the request carries ScheduledTime, and the
// Initialize function derives the data date from it by the rule the workflows apply to the Temporal
// scheduler's TemporalScheduledStartTime (contract.ResolveDataDate).

// Schedule says when and with what request a schedule starts a state machine.
type Schedule struct {
	// Name of the schedule; "mdlc-<pipeline>-<model>" when empty.
	Name string
	// ModelName is the request's model.
	ModelName string
	// DataDateOffset is the request's DataDateOffset, e.g. "-1d"; "0d" when empty.
	DataDateOffset string
	// Cron is a 5-field cron expression in UTC (minute hour day-of-month month day-of-week), as the starter's
	// `schedule create --cron` takes it; or Every, an interval of whole minutes. Exactly one is set.
	Cron  string
	Every time.Duration
	// RoleArn is the role EventBridge Scheduler assumes to start the execution (see SchedulerPolicy).
	RoleArn string
}

// CreateSchedule is an EventBridge Scheduler CreateSchedule request, as `aws scheduler create-schedule
// --cli-input-json` takes it.
type CreateSchedule struct {
	Name                       string
	Description                string
	ScheduleExpression         string
	ScheduleExpressionTimezone string
	FlexibleTimeWindow         FlexibleTimeWindow
	State                      string
	Target                     ScheduleTarget
}

// FlexibleTimeWindow is a schedule's window; mdlc's schedules run at their time (Mode OFF).
type FlexibleTimeWindow struct {
	Mode string
}

// ScheduleTarget is what a schedule starts: a state machine (the universal StartExecution target), with
// Input as its execution input.
type ScheduleTarget struct {
	Arn     string
	RoleArn string
	Input   string
}

// EventBridgeSchedule returns the CreateSchedule request of a schedule that starts p's state machine (the
// ARN cfg gives it) with s's scheduled request. It makes no AWS call.
func EventBridgeSchedule(p Pipeline, cfg Config, s Schedule) (*CreateSchedule, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	if _, err := ParsePipeline(string(p)); err != nil {
		return nil, err
	}
	if s.DataDateOffset == "" {
		s.DataDateOffset = "0d"
	}
	req := contract.WorkflowInput{ModelName: s.ModelName, DataDateOffset: s.DataDateOffset, ScheduledTime: contract.ScheduledTimePlaceholder}
	kind := contract.InferenceRequest
	if p == TrainingPipeline {
		kind = contract.TrainingRequest
	}
	// The placeholder is checked as the time EventBridge Scheduler puts in its place.
	check := req
	check.ScheduledTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	if err := contract.ValidateRequest(kind, check); err != nil {
		return nil, fmt.Errorf("schedule request: %w", err)
	}
	expr, err := scheduleExpression(s.Cron, s.Every)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(s.RoleArn, "arn:") {
		return nil, errors.New("schedule: the scheduler role ARN is required (arn:...:iam::<account>:role/<name>): the role EventBridge Scheduler assumes to start the execution")
	}
	if s.Name == "" {
		s.Name = "mdlc-" + string(p) + "-" + s.ModelName
	}
	// The execution input: the request's fields only (no empty DataDate), as a user writes a scheduled request.
	// EventBridge Scheduler replaces the placeholder as written, so it must not be escaped (\u003c...).
	input, err := marshalUnescaped(struct {
		ModelName      string
		DataDateOffset string
		ScheduledTime  string
	}{req.ModelName, req.DataDateOffset, req.ScheduledTime}, "")
	if err != nil {
		return nil, fmt.Errorf("encode schedule input: %w", err)
	}
	return &CreateSchedule{
		Name: s.Name,
		Description: fmt.Sprintf("mdlc %s of %s; data date = scheduled time's day (UTC) %s. Emitted by mdlc parity.",
			p, s.ModelName, s.DataDateOffset),
		ScheduleExpression:         expr,
		ScheduleExpressionTimezone: "UTC",
		FlexibleTimeWindow:         FlexibleTimeWindow{Mode: "OFF"},
		State:                      "ENABLED",
		Target:                     ScheduleTarget{Arn: cfg.StateMachineARN(p), RoleArn: s.RoleArn, Input: strings.TrimSuffix(string(input), "\n")},
	}, nil
}

// JSON returns the request as indented JSON, the placeholder in its Input as written.
func (c *CreateSchedule) JSON() ([]byte, error) {
	b, err := marshalUnescaped(c, "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal schedule: %w", err)
	}
	return b, nil
}

// marshalUnescaped is json.Marshal (indented when indent is set, with a final newline) without the
// escaping of <, > and & that encoding/json does for HTML.
func marshalUnescaped(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// scheduleExpression is EventBridge Scheduler's form of a 5-field cron expression (cron(...) with a year
// field and "?" for the unused day field) or of an interval (rate(...), whole minutes, hours or days).
//
// EventBridge numbers the days of the week 1-7 from Sunday, cron (and Temporal) 0-6: a numeric day of the
// week is refused rather than renumbered; names (MON-FRI) read alike in both.
func scheduleExpression(cron string, every time.Duration) (string, error) {
	switch {
	case (cron == "") == (every == 0):
		return "", errors.New("schedule: give exactly one of a cron expression and an interval")
	case every != 0:
		for _, u := range []struct {
			d    time.Duration
			unit string
		}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
			if every%u.d == 0 {
				n := int64(every / u.d)
				if n > 1 {
					u.unit += "s"
				}
				return fmt.Sprintf("rate(%d %s)", n, u.unit), nil
			}
		}
		return "", fmt.Errorf("schedule: interval %s must be whole minutes for EventBridge Scheduler (rate expressions count minutes, hours or days)", every)
	}
	f := strings.Fields(cron)
	if len(f) != 5 {
		return "", fmt.Errorf("schedule: cron expression %q must have 5 fields (minute hour day-of-month month day-of-week)", cron)
	}
	minute, hour, dom, month, dow := f[0], f[1], f[2], f[3], f[4]
	if strings.ContainsAny(dow, "0123456789") {
		return "", fmt.Errorf("schedule: day of week %q: write days by name (e.g. MON-FRI), which cron and EventBridge Scheduler read alike (EventBridge numbers them 1-7 from Sunday, cron 0-6)", dow)
	}
	switch {
	case dow == "*":
		dow = "?"
	case dom == "*":
		dom = "?"
	default:
		return "", fmt.Errorf("schedule: cron expression %q gives both a day of month and a day of week, which EventBridge Scheduler does not take", cron)
	}
	return fmt.Sprintf("cron(%s %s %s %s %s *)", minute, hour, dom, month, dow), nil
}

// SchedulerPolicy returns what the role of p's EventBridge schedule (Schedule.RoleArn) must be allowed:
// starting p's state machine. The role's trust policy lets scheduler.amazonaws.com assume it.
func SchedulerPolicy(p Pipeline, cfg Config) (*PolicyDocument, error) {
	cfg, err := cfg.prepared()
	if err != nil {
		return nil, err
	}
	if _, err := ParsePipeline(string(p)); err != nil {
		return nil, err
	}
	return &PolicyDocument{Version: "2012-10-17", Statement: []PolicyStatement{{
		Sid: "StartStateMachine", Effect: "Allow", Action: []string{"states:StartExecution"}, Resource: []string{cfg.StateMachineARN(p)},
	}}}, nil
}
