package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Task parameters are rendered from the typed request values the worker sends (activities.TrainingJobRequest
// and friends): the values that come from the execution's data are set to ref(path) placeholders, the value
// is marshalled, empty fields are dropped as the SDK serializers drop them, and every placeholder becomes a
// "Field.$": path entry. So a field added to a request builder reaches the state machine without a second
// copy of the request here.

// refMarker starts a placeholder; NUL never occurs in a real request value.
const refMarker = "\x00ref:"

// ref returns a placeholder for the value at the JSONPath, reference path or intrinsic function expr.
func ref(expr string) string { return refMarker + expr }

// template renders v as a Task or Pass Parameters (or ResultSelector) template.
func template(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal parameters: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("decode parameters: %w", err)
	}
	tree, keep, err := resolve(tree, "")
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !keep || !ok {
		return nil, fmt.Errorf("parameters %s are not a non-empty object", raw)
	}
	b, err := json.Marshal(obj) // encoding/json sorts the keys: stable golden files
	if err != nil {
		return nil, fmt.Errorf("marshal parameters: %w", err)
	}
	return b, nil
}

// resolve drops null and empty values and turns placeholders into path fields. It reports whether the value
// is kept.
func resolve(v any, where string) (any, bool, error) {
	switch v := v.(type) {
	case nil:
		return nil, false, nil
	case string:
		if strings.HasPrefix(v, refMarker) {
			return nil, false, fmt.Errorf("parameters: placeholder %q at %s is not an object field", strings.TrimPrefix(v, refMarker), where)
		}
		return v, v != "", nil
	case []any:
		out := make([]any, 0, len(v))
		for i, e := range v {
			r, keep, err := resolve(e, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, false, err
			}
			if keep {
				out = append(out, r)
			}
		}
		return out, len(out) > 0, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if s, ok := e.(string); ok && strings.HasPrefix(s, refMarker) {
				out[k+".$"] = strings.TrimPrefix(s, refMarker)
				continue
			}
			r, keep, err := resolve(e, where+"."+k)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out[k] = r
			}
		}
		return out, len(out) > 0, nil
	default:
		return v, true, nil
	}
}

// selector is a ResultSelector or Parameters of paths only: field name → path.
type selector map[string]string

// render returns the selector as a template with every field a path.
func (s selector) render() (json.RawMessage, error) {
	m := make(map[string]string, len(s))
	for k, p := range s {
		m[k] = ref(p)
	}
	return template(m)
}

// literal marshals a fixed value (a Pass Result).
func literal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal literal: %w", err)
	}
	return b, nil
}
