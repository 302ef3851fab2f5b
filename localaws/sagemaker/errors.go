package sagemaker

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mdlc/mdlc/localaws/awserr"
)

// violations collects constraint violations and renders them the way AWS does
// ("2 validation errors detected: Value ... at 'x' failed to satisfy constraint: ...; ...").
type violations struct{ msgs []string }

// maxQuoted bounds how much of a bad value an error message quotes.
const maxQuoted = 80

func (v *violations) add(value, path, constraint string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", quote(value), path, constraint))
}

// quote shortens a bad value to a prefix that names it without echoing all of it.
func quote(value string) string {
	if len(value) <= maxQuoted {
		return value
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(value[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", value[:cut], len(value))
}

// required records a missing required member.
func (v *violations) required(path string, present bool) bool {
	if !present {
		v.msgs = append(v.msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
	}
	return present
}

// pattern checks value against re, whose AWS spelling is text.
func (v *violations) pattern(path, value string, re interface{ MatchString(string) bool }, text string) {
	if !re.MatchString(value) {
		v.add(value, path, "Member must satisfy regular expression pattern: "+text)
	}
}

// enum checks an optional enum member; empty means absent.
func (v *violations) enum(path, value string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add(value, path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// enumSet checks an optional enum member that the request may carry as "" (a JSON client, or a state
// machine's template, can send an empty string): present, even empty, it must be one of allowed, as AWS
// checks it.
func (v *violations) enumSet(path string, value *string, allowed ...string) {
	if value == nil {
		return
	}
	if *value == "" {
		v.add("", path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
		return
	}
	v.enum(path, *value, allowed...)
}

// between checks an optional integer member.
func (v *violations) between(path string, value *int64, lo, hi int64) {
	if value == nil {
		return
	}
	switch {
	case *value < lo:
		v.add(fmt.Sprint(*value), path, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	case *value > hi:
		v.add(fmt.Sprint(*value), path, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

// maxLen checks the length of a string member.
func (v *violations) maxLen(path, value string, hi int) {
	if len(value) > hi {
		v.add(value, path, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
}

// err returns the collected violations as one ValidationException, or nil.
func (v *violations) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return awserr.New(awserr.SageMakerValidation, "1 validation error detected: %s", v.msgs[0])
	default:
		return awserr.New(awserr.SageMakerValidation, "%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
	}
}
