// Package strictjson decodes a JSON object into a struct as encoding/json does, but reports what
// encoding/json lets through silently: a key that names no field (a misspelt "Treshold" would otherwise be
// ignored and the field keep its default), a key that names a field in another case (encoding/json matches
// names case-insensitively), a key given twice, and a value of the wrong type.
//
// Only flat structs are supported: exported fields, named by their json tag or their Go name; embedded
// structs are not flattened.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mdlc/mdlc/internal/quote"
)

// Decode sets the fields of *v (a pointer to a struct) from data, a JSON object or null, whose keys must
// be exactly the fields' names, or one of ignore (keys that a known sender adds, passed over unread). It
// decodes every field it can and returns every problem, joined in one error (nil when there is none); the
// problems name the key and, for an unknown one, the valid names.
func Decode(data []byte, v any, ignore ...string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("strictjson: decode into %T: want a pointer to a struct", v)
	}
	rv = rv.Elem()
	fields := fieldIndex(rv.Type())
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("the input must be a JSON object with the fields %s, not %s", names(fields), kindOf(data))
	}
	var errs []error
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read the input: %w", err)
		}
		key := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("read field %s of the input: %w", quote.Value(key), err)
		}
		if slices.Contains(ignore, key) {
			continue
		}
		i, ok := fields[key]
		if !ok {
			if name := foldMatch(fields, key); name != "" {
				errs = append(errs, fmt.Errorf("field %s must be written %q: field names are case-sensitive", quote.Value(key), name))
			} else {
				errs = append(errs, fmt.Errorf("unknown field %s: the fields are %s", quote.Value(key), names(fields)))
			}
			continue
		}
		if seen[key] {
			errs = append(errs, fmt.Errorf("field %q is given more than once", key))
			continue
		}
		seen[key] = true
		f := rv.Field(i)
		val := reflect.New(f.Type()) // a field whose value does not fit keeps its zero value
		if err := json.Unmarshal(raw, val.Interface()); err != nil {
			var typeErr *json.UnmarshalTypeError
			if kindOf(raw) == "an object" && !errors.As(err, &typeErr) {
				// An object field that decodes itself strictly (its own UnmarshalJSON) says what is wrong inside.
				errs = append(errs, fmt.Errorf("field %s: %w", key, err))
				continue
			}
			errs = append(errs, fmt.Errorf("field %s must be %s, not %s", key, describe(f.Type()), kindOf(raw)))
			continue
		}
		f.Set(val.Elem())
	}
	return errors.Join(errs...)
}

// fieldIndex maps the JSON name of each exported field of t to its index.
func fieldIndex(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = i
	}
	return fields
}

func foldMatch(fields map[string]int, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

// names lists the field names in declaration order.
func names(fields map[string]int) string {
	ordered := make([]string, len(fields))
	for name, i := range fields {
		ordered[i] = name
	}
	var out []string
	for _, n := range ordered {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// describe says in JSON terms what a field of type t accepts.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return describe(t.Elem()) + " or null"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// kindOf names the kind of a JSON value by its first byte.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
