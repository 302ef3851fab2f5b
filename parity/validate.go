package parity

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// MaxStateNameLength is Step Functions' limit on state names.
const MaxStateNameLength = 80

// errorsAll is the ASL wildcard error name.
const errorsAll = "States.ALL"

// Validate checks the graph: StartAt and every Next, Default and Catch Next name a state; names are unique,
// non-empty and at most 80 characters; each Task and Pass has exactly one of Next and End; each Choice has
// rules, each top-level rule a Next and no nested rule one; every Retry and Catch entry names errors, with
// States.ALL alone in its entry and in the last entry; every state is reachable from StartAt. It reports all
// problems found, in state order.
func (m *StateMachine) Validate() error {
	if m == nil {
		return errors.New("state machine is nil")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(m.States) == 0 {
		add("no states")
	}
	names := map[string]bool{}
	for _, s := range m.States {
		switch {
		case s.Name == "":
			add("a state has an empty name")
		case utf8.RuneCountInString(s.Name) > MaxStateNameLength:
			add("state name %q is longer than %d characters", s.Name, MaxStateNameLength)
		case names[s.Name]:
			add("state name %q is used twice", s.Name)
		}
		names[s.Name] = true
		if s.State == nil {
			add("state %q has no definition", s.Name)
		}
	}
	if m.StartAt == "" {
		add("StartAt is empty")
	} else if !names[m.StartAt] {
		add("StartAt names no state: %q", m.StartAt)
	}
	resolve := func(from, field, to string) {
		if to == "" {
			add("state %q: %s is empty", from, field)
		} else if !names[to] {
			add("state %q: %s names no state: %q", from, field, to)
		}
	}
	for _, s := range m.States {
		switch st := s.State.(type) {
		case *Task:
			if st.Resource == "" {
				add("state %q: Resource is empty", s.Name)
			}
			checkNextEnd(s.Name, st.Next, st.End, add)
			if st.Next != "" {
				resolve(s.Name, "Next", st.Next)
			}
			retry := make([][]string, len(st.Retry))
			for i, r := range st.Retry {
				retry[i] = r.ErrorEquals
				if r.MaxAttempts != nil && *r.MaxAttempts < 0 {
					add("state %q: Retry[%d] MaxAttempts is negative", s.Name, i)
				}
				if r.BackoffRate != 0 && r.BackoffRate < 1 {
					add("state %q: Retry[%d] BackoffRate %v is below 1", s.Name, i, r.BackoffRate)
				}
			}
			checkErrorLists(s.Name, "Retry", retry, add)
			catch := make([][]string, len(st.Catch))
			for i, c := range st.Catch {
				catch[i] = c.ErrorEquals
				resolve(s.Name, fmt.Sprintf("Catch[%d].Next", i), c.Next)
			}
			checkErrorLists(s.Name, "Catch", catch, add)
		case *Pass:
			checkNextEnd(s.Name, st.Next, st.End, add)
			if st.Next != "" {
				resolve(s.Name, "Next", st.Next)
			}
		case *Choice:
			if len(st.Choices) == 0 {
				add("state %q: Choices is empty", s.Name)
			}
			for i, r := range st.Choices {
				resolve(s.Name, fmt.Sprintf("Choices[%d].Next", i), r.Next)
				checkRule(s.Name, fmt.Sprintf("Choices[%d]", i), r, add)
			}
			if st.Default != "" {
				resolve(s.Name, "Default", st.Default)
			}
		case *Fail:
			if st.Error != "" && st.ErrorPath != "" {
				add("state %q: Error and ErrorPath are both set", s.Name)
			}
			if st.Cause != "" && st.CausePath != "" {
				add("state %q: Cause and CausePath are both set", s.Name)
			}
		case *Succeed, nil:
		default:
			add("state %q: unsupported state type %T", s.Name, st)
		}
	}
	if names[m.StartAt] {
		reach := m.reachable()
		for _, s := range m.States {
			if !reach[s.Name] {
				add("state %q is not reachable from StartAt %q", s.Name, m.StartAt)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid state machine: %w", err)
	}
	return nil
}

// reachable returns the names of the states reachable from StartAt.
func (m *StateMachine) reachable() map[string]bool {
	seen := map[string]bool{}
	queue := []string{m.StartAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		st, ok := m.States.Lookup(name)
		if !ok || st == nil {
			continue
		}
		next, _ := st.transitions()
		queue = append(queue, next...)
	}
	return seen
}

func checkNextEnd(name, next string, end bool, add func(string, ...any)) {
	switch {
	case next != "" && end:
		add("state %q has both Next and End", name)
	case next == "" && !end:
		add("state %q has neither Next nor End", name)
	}
}

// checkErrorLists checks a Retry or Catch list: every entry names errors, and States.ALL appears only alone
// and only in the last entry.
func checkErrorLists(state, field string, lists [][]string, add func(string, ...any)) {
	for i, errs := range lists {
		if len(errs) == 0 {
			add("state %q: %s[%d] ErrorEquals is empty", state, field, i)
		}
		if slices.Contains(errs, errorsAll) {
			if len(errs) > 1 {
				add("state %q: %s[%d] lists %s with other errors", state, field, i, errorsAll)
			}
			if i != len(lists)-1 {
				add("state %q: %s[%d] uses %s but is not the last entry", state, field, i, errorsAll)
			}
		}
	}
}

// checkRule checks that a top-level rule has exactly one comparison or combinator and that nested rules
// have no Next.
func checkRule(state, where string, r ChoiceRule, add func(string, ...any)) {
	for i, n := range r.And {
		checkNested(state, fmt.Sprintf("%s.And[%d]", where, i), n, add)
	}
	for i, n := range r.Or {
		checkNested(state, fmt.Sprintf("%s.Or[%d]", where, i), n, add)
	}
	if r.Not != nil {
		checkNested(state, where+".Not", *r.Not, add)
	}
	if r.And == nil && r.Or == nil && r.Not == nil && r.Variable == "" {
		add("state %q: %s has neither a Variable nor And, Or, Not", state, where)
	}
}

func checkNested(state, where string, r ChoiceRule, add func(string, ...any)) {
	if r.Next != "" {
		add("state %q: nested rule %s has a Next", state, where)
	}
	checkRule(state, where, r, add)
}
