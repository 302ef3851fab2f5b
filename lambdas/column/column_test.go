package column

import (
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(sc *Scanner) ([]float64, error) {
	var got []float64
	for sc.Scan() {
		got = append(got, sc.Value())
	}
	return got, sc.Err()
}

func TestScannerAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		want     []float64
	}{
		{"one per line", "0.1\n0.2\n0.3", []float64{0.1, 0.2, 0.3}},
		{"trailing newline", "0.1\n0.2\n", []float64{0.1, 0.2}},
		{"several trailing blank lines", "0.1\n0.2\n\n \r\n\n", []float64{0.1, 0.2}},
		{"crlf", "0.1\r\n0.2\r\n", []float64{0.1, 0.2}},
		{"spaces and tabs", "  0.1\t\n\t0.2  \n", []float64{0.1, 0.2}},
		{"byte-order mark", "\xef\xbb\xbf0.5\n1\n", []float64{0.5, 1}},
		{"exponents and signs", "1e-3\n-2.5E+2\n+7\n.5\n3.\n", []float64{0.001, -250, 7, 0.5, 3}},
		{"single value", "0.42", []float64{0.42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewScanner(strings.NewReader(tt.in)))
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScannerRejects(t *testing.T) {
	tests := []struct {
		name, in string
		labels   bool
		line     int    // 0: ErrEmpty expected
		reason   string // substring of the reason
	}{
		{"empty file", "", false, 0, ""},
		{"only blank lines", "\n\r\n  \n", false, 0, ""},
		{"header", "prediction\n0.1\n", false, 1, "not a number"},
		{"trailing comma", "0.1\n0.3,\n", false, 2, "2 comma-separated columns"},
		{"two columns", "0.3,0.7\n", false, 1, "2 comma-separated columns"},
		{"blank line in the middle", "0.1\n\n0.2\n", false, 2, "blank line"},
		{"NaN", "0.1\nNaN\n", false, 2, "NaN"},
		{"nan lower case", "nan\n", false, 1, "NaN"},
		{"infinity", "0.1\n0.2\n-Inf\n", false, 3, "infinity"},
		{"overflow", "1e400\n", false, 1, "out of float64 range"},
		{"hex float", "0x1p-2\n", false, 1, "not a decimal number"},
		{"quoted", "\"0.1\"\n", false, 1, "not a number"},
		{"json", "{\"score\": 0.1}\n", false, 1, "not a number"},
		{"label 2", "0\n1\n2\n", true, 3, "not a class label"},
		{"label 0.5", "0.5\n", true, 1, "not a class label"},
		{"label -1", "1\n-1\n", true, 2, "not a class label"},
		{"label word", "yes\n", true, 1, "not a number"},
		{"long line", strings.Repeat("1", 70000) + "\n", false, 1, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := NewScanner(strings.NewReader(tt.in))
			if tt.labels {
				sc = NewLabelScanner(strings.NewReader(tt.in))
			}
			_, err := readAll(sc)
			if tt.line == 0 {
				if !errors.Is(err, ErrEmpty) {
					t.Fatalf("error %v, want ErrEmpty", err)
				}
				return
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *LineError", err)
			}
			if le.Line != tt.line || !strings.Contains(le.Reason, tt.reason) {
				t.Errorf("error %q, want line %d and reason containing %q", le, tt.line, tt.reason)
			}
		})
	}
}

func TestLabelScanner(t *testing.T) {
	got, err := readAll(NewLabelScanner(strings.NewReader("0\n1\n1.0\n0.0\n1e0\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0, 1, 1, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestScannerReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("0.1\n0.2\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, err := readAll(NewScanner(r))
	var le *LineError
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &le) {
		t.Fatalf("error %v, want the reader's error, not a line error", err)
	}
}

func TestLineAndCount(t *testing.T) {
	sc := NewScanner(strings.NewReader("0.1\n0.2\n"))
	for sc.Scan() {
	}
	if sc.Line() != 2 || sc.Count() != 2 {
		t.Errorf("Line %d Count %d, want 2 2", sc.Line(), sc.Count())
	}
}

// FuzzScanner checks that no input makes the scanner panic, that it only returns finite numbers, and that
// labels are 0 or 1.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{"0.1\n0.2\n", "0,1\n", "\xef\xbb\xbf1\r\n", "NaN", "1e400", "\n\n1", "0x1p1", "-0", "1\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, labels := range []bool{false, true} {
			sc := NewScanner(strings.NewReader(in))
			if labels {
				sc = NewLabelScanner(strings.NewReader(in))
			}
			values, err := readAll(sc)
			for _, v := range values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite value %v from %q", v, in)
				}
				if labels && v != 0 && v != 1 {
					t.Fatalf("label %v from %q", v, in)
				}
			}
			if err == nil && len(values) == 0 {
				t.Fatalf("no values and no error from %q", in)
			}
		}
	})
}
