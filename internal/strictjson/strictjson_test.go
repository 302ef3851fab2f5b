package strictjson

import (
	"strings"
	"testing"
)

type request struct {
	ModelName string
	DataDate  string
	Threshold *float64 `json:",omitempty"`
	Renamed   int      `json:"other"`
	Skipped   string   `json:"-"`
	hidden    string
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     request
		wantErrs []string
	}{
		{name: "exact", in: `{"ModelName":"m","DataDate":"2019-10-01","Threshold":0.9,"other":3}`,
			want: request{ModelName: "m", DataDate: "2019-10-01", Threshold: ptr(0.9), Renamed: 3}},
		{name: "null", in: `null`},
		{name: "empty object", in: ` {} `},
		{name: "null field", in: `{"ModelName":"m","Threshold":null}`, want: request{ModelName: "m"}},
		{name: "misspelt field", in: `{"ModelName":"m","DataDate":"2019-11-01","Treshold":0.99}`,
			want:     request{ModelName: "m", DataDate: "2019-11-01"},
			wantErrs: []string{`unknown field "Treshold": the fields are ModelName, DataDate, Threshold, other`}},
		{name: "wrong case", in: `{"modelName":"m","DataDate":"2019-11-01","THRESHOLD":0.5}`,
			want: request{DataDate: "2019-11-01"},
			wantErrs: []string{`field "modelName" must be written "ModelName": field names are case-sensitive`,
				`field "THRESHOLD" must be written "Threshold"`}},
		{name: "Go name of a renamed field", in: `{"Renamed":1}`, wantErrs: []string{`unknown field "Renamed"`}},
		{name: "skipped field", in: `{"Skipped":"x"}`, wantErrs: []string{`unknown field "Skipped"`}},
		{name: "unexported field", in: `{"hidden":"x"}`, wantErrs: []string{`unknown field "hidden"`}},
		{name: "twice", in: `{"ModelName":"a","ModelName":"b"}`, want: request{ModelName: "a"},
			wantErrs: []string{`field "ModelName" is given more than once`}},
		{name: "wrong types", in: `{"ModelName":5,"DataDate":"d","Threshold":"0.9","other":1.5}`,
			want: request{DataDate: "d"},
			wantErrs: []string{"field ModelName must be a string, not a number", "field Threshold must be a number or null, not a string",
				"field other must be an integer, not a number"}},
		{name: "not an object", in: `["m"]`, wantErrs: []string{"the input must be a JSON object with the fields ModelName, DataDate, Threshold, other, not an array"}},
		{name: "a string", in: `"m"`, wantErrs: []string{"not a string"}},
		{name: "huge key", in: `{"` + strings.Repeat("k", 1<<20) + `":1}`, wantErrs: []string{`unknown field "kkkk`, "(1048576 bytes)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got request
			err := Decode([]byte(tc.in), &got)
			if len(tc.wantErrs) == 0 && err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for _, w := range tc.wantErrs {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Decode error %v, want it to contain %q", err, w)
				}
			}
			if err != nil && len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if got.hidden != "" || got.Skipped != "" {
				t.Errorf("decoded an unexported or skipped field: %+v", got)
			}
			if got.ModelName != tc.want.ModelName || got.DataDate != tc.want.DataDate || got.Renamed != tc.want.Renamed ||
				(got.Threshold == nil) != (tc.want.Threshold == nil) || got.Threshold != nil && *got.Threshold != *tc.want.Threshold {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeNeedsAStructPointer(t *testing.T) {
	var m map[string]any
	if err := Decode([]byte(`{}`), &m); err == nil {
		t.Error("decoding into a map: no error")
	}
}

func ptr(f float64) *float64 { return &f }

// TestDecodeIgnoring: a key a known sender adds is passed over, whatever its value; any other unknown key is
// still reported.
func TestDecodeIgnoring(t *testing.T) {
	var got request
	err := Decode([]byte(`{"ModelName":"m","Added":{"any":[1]},"Extra":1}`), &got, "Added")
	if err == nil || !strings.Contains(err.Error(), `unknown field "Extra"`) || strings.Contains(err.Error(), "Added") {
		t.Errorf("Decode error %v, want only Extra reported", err)
	}
	if got.ModelName != "m" {
		t.Errorf("decoded %+v", got)
	}
	if err := Decode([]byte(`{"ModelName":"m","Added":1}`), &got, "Added"); err != nil {
		t.Errorf("Decode with an ignored key: %v", err)
	}
}
