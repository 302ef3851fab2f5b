package parity

import (
	"encoding/json"
	"fmt"
)

// StateMachine is an Amazon States Language definition (JSONPath query language, the default).
type StateMachine struct {
	Comment        string `json:"Comment,omitempty"`
	StartAt        string `json:"StartAt"`
	TimeoutSeconds int    `json:"TimeoutSeconds,omitempty"`
	States         States `json:"States"`
}

// States are a state machine's states in the order they are written: the flow order, so that the emitted
// JSON reads top to bottom. Names must be unique (Validate checks).
type States []NamedState

// NamedState is a state and its name.
type NamedState struct {
	Name  string
	State State
}

// MarshalJSON writes the states as one JSON object, keys in slice order.
func (ss States) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, s := range ss {
		if i > 0 {
			buf = append(buf, ',')
		}
		name, err := json.Marshal(s.Name)
		if err != nil {
			return nil, fmt.Errorf("marshal state name %q: %w", s.Name, err)
		}
		body, err := json.Marshal(s.State)
		if err != nil {
			return nil, fmt.Errorf("marshal state %q: %w", s.Name, err)
		}
		buf = append(append(append(buf, name...), ':'), body...)
	}
	return append(buf, '}'), nil
}

// Lookup returns the state named name.
func (ss States) Lookup(name string) (State, bool) {
	for _, s := range ss {
		if s.Name == name {
			return s.State, true
		}
	}
	return nil, false
}

// State is one state of a StateMachine: *Task, *Choice, *Pass, *Fail or *Succeed. Each marshals itself
// with its "Type".
type State interface {
	// Type is the state's ASL type name ("Task", "Choice", ...).
	Type() string
	// transitions returns the states this state may hand over to, and whether it may end the execution.
	transitions() (next []string, terminal bool)
}

// Path is a JSONPath (or reference path) that can be ASL null: NullPath discards a state's input, result or
// output where the field allows it. The zero value is omitted.
type Path string

// NullPath is the ASL null path: `"ResultPath": null` discards the result and keeps the input.
const NullPath Path = "\x00null"

// MarshalJSON writes NullPath as null and any other path as a string.
func (p Path) MarshalJSON() ([]byte, error) {
	if p == NullPath {
		return []byte("null"), nil
	}
	return json.Marshal(string(p))
}

// Retrier is one entry of a Retry list. MaxAttempts is a pointer because 0 ("never retry these errors") is
// meaningful and differs from the ASL default of 3.
type Retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds,omitempty"`
	MaxAttempts     *int     `json:"MaxAttempts,omitempty"`
	BackoffRate     float64  `json:"BackoffRate,omitempty"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds,omitempty"`
	JitterStrategy  string   `json:"JitterStrategy,omitempty"`
}

// Catcher is one entry of a Catch list.
type Catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
	ResultPath  Path     `json:"ResultPath,omitempty"`
}

// Task runs a resource: a Lambda function or an AWS service integration.
type Task struct {
	Comment        string          `json:"Comment,omitempty"`
	Resource       string          `json:"Resource"`
	Parameters     json.RawMessage `json:"Parameters,omitempty"`
	ResultSelector json.RawMessage `json:"ResultSelector,omitempty"`
	ResultPath     Path            `json:"ResultPath,omitempty"`
	OutputPath     Path            `json:"OutputPath,omitempty"`
	TimeoutSeconds int             `json:"TimeoutSeconds,omitempty"`
	Retry          []Retrier       `json:"Retry,omitempty"`
	Catch          []Catcher       `json:"Catch,omitempty"`
	Next           string          `json:"Next,omitempty"`
	End            bool            `json:"End,omitempty"`
}

// Pass passes its input to its output, optionally injecting Result at ResultPath.
type Pass struct {
	Comment    string          `json:"Comment,omitempty"`
	InputPath  Path            `json:"InputPath,omitempty"`
	Parameters json.RawMessage `json:"Parameters,omitempty"`
	Result     json.RawMessage `json:"Result,omitempty"`
	ResultPath Path            `json:"ResultPath,omitempty"`
	Next       string          `json:"Next,omitempty"`
	End        bool            `json:"End,omitempty"`
}

// Choice branches on its input: the first rule that matches names the next state, else Default.
type Choice struct {
	Comment string       `json:"Comment,omitempty"`
	Choices []ChoiceRule `json:"Choices"`
	Default string       `json:"Default,omitempty"`
}

// ChoiceRule is a top-level rule (with Next) or a nested one (inside And, Or, Not; without Next). Only the
// comparison operators the pipelines use are modelled.
type ChoiceRule struct {
	Variable                     string       `json:"Variable,omitempty"`
	IsPresent                    *bool        `json:"IsPresent,omitempty"`
	IsNull                       *bool        `json:"IsNull,omitempty"`
	IsNumeric                    *bool        `json:"IsNumeric,omitempty"`
	IsString                     *bool        `json:"IsString,omitempty"`
	NumericLessThan              *float64     `json:"NumericLessThan,omitempty"`
	NumericLessThanPath          string       `json:"NumericLessThanPath,omitempty"`
	NumericLessThanEquals        *float64     `json:"NumericLessThanEquals,omitempty"`
	NumericLessThanEqualsPath    string       `json:"NumericLessThanEqualsPath,omitempty"`
	NumericGreaterThan           *float64     `json:"NumericGreaterThan,omitempty"`
	NumericGreaterThanPath       string       `json:"NumericGreaterThanPath,omitempty"`
	NumericGreaterThanEqualsPath string       `json:"NumericGreaterThanEqualsPath,omitempty"`
	StringEquals                 *string      `json:"StringEquals,omitempty"`
	And                          []ChoiceRule `json:"And,omitempty"`
	Or                           []ChoiceRule `json:"Or,omitempty"`
	Not                          *ChoiceRule  `json:"Not,omitempty"`
	Next                         string       `json:"Next,omitempty"`
}

// Fail ends the execution as failed, with a fixed Error and Cause or ones read from the input.
type Fail struct {
	Comment   string `json:"Comment,omitempty"`
	Error     string `json:"Error,omitempty"`
	Cause     string `json:"Cause,omitempty"`
	ErrorPath string `json:"ErrorPath,omitempty"`
	CausePath string `json:"CausePath,omitempty"`
}

// Succeed ends the execution successfully.
type Succeed struct {
	Comment string `json:"Comment,omitempty"`
}

// Type returns "Task".
func (*Task) Type() string { return "Task" }

// Type returns "Pass".
func (*Pass) Type() string { return "Pass" }

// Type returns "Choice".
func (*Choice) Type() string { return "Choice" }

// Type returns "Fail".
func (*Fail) Type() string { return "Fail" }

// Type returns "Succeed".
func (*Succeed) Type() string { return "Succeed" }

func (s *Task) transitions() ([]string, bool) {
	next := []string{}
	if s.Next != "" {
		next = append(next, s.Next)
	}
	for _, c := range s.Catch {
		next = append(next, c.Next)
	}
	return next, s.End
}

func (s *Pass) transitions() ([]string, bool) {
	if s.Next != "" {
		return []string{s.Next}, s.End
	}
	return nil, s.End
}

func (s *Choice) transitions() ([]string, bool) {
	var next []string
	for _, r := range s.Choices {
		next = append(next, r.Next)
	}
	if s.Default != "" {
		next = append(next, s.Default)
	}
	return next, false
}

func (*Fail) transitions() ([]string, bool)    { return nil, true }
func (*Succeed) transitions() ([]string, bool) { return nil, true }

// withType marshals v (a pointer to a state struct) with a leading "Type" field.
func withType(typ string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %s state: %w", typ, err)
	}
	head := fmt.Sprintf(`{"Type":%q`, typ)
	if string(body) == "{}" {
		return []byte(head + "}"), nil
	}
	return append([]byte(head+","), body[1:]...), nil
}

// The aliases drop the MarshalJSON methods so that withType can marshal the plain fields.
type (
	taskFields    Task
	passFields    Pass
	choiceFields  Choice
	failFields    Fail
	succeedFields Succeed
)

// MarshalJSON writes the state with "Type": "Task".
func (s *Task) MarshalJSON() ([]byte, error) { return withType(s.Type(), (*taskFields)(s)) }

// MarshalJSON writes the state with "Type": "Pass".
func (s *Pass) MarshalJSON() ([]byte, error) { return withType(s.Type(), (*passFields)(s)) }

// MarshalJSON writes the state with "Type": "Choice".
func (s *Choice) MarshalJSON() ([]byte, error) { return withType(s.Type(), (*choiceFields)(s)) }

// MarshalJSON writes the state with "Type": "Fail".
func (s *Fail) MarshalJSON() ([]byte, error) { return withType(s.Type(), (*failFields)(s)) }

// MarshalJSON writes the state with "Type": "Succeed".
func (s *Succeed) MarshalJSON() ([]byte, error) { return withType(s.Type(), (*succeedFields)(s)) }

// JSON returns the definition as indented JSON, the form Step Functions takes and the golden files keep.
func (m *StateMachine) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal state machine: %w", err)
	}
	return append(b, '\n'), nil
}
