// Package column reads a file that holds one number per line — a header-less, single-column CSV such as a
// SageMaker batch-transform output for a binary classifier or a target file — as a stream, keeping nothing
// but the current line.
//
// Accepted: one decimal number per line (Go/Python float syntax: sign, digits, point, exponent), surrounding
// spaces and tabs, CRLF line ends, a UTF-8 byte-order mark, and blank lines at the very end of the file.
// Rejected, with the line number: anything that is not a number (including a header line, quotes, hex
// floats), NaN and ±Inf, numbers out of float64 range, a blank line followed by more values, and a line with
// a comma — "0.3," or "0.3,0.7" — because guessing which column is the prediction would silently compute
// the metric of the wrong numbers. A file without any value is an error too.
package column

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/mdlc/mdlc/internal/quote"
)

// ErrEmpty reports a file without a single value.
var ErrEmpty = errors.New("no values")

// LineError is a line that does not hold one acceptable number.
type LineError struct {
	// Line is 1-based.
	Line int
	// Reason says what is wrong, including an excerpt of the line.
	Reason string
}

// Error returns "line N: reason".
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Scanner reads values one line at a time. Use it like bufio.Scanner: call Scan until it returns false,
// then Err.
type Scanner struct {
	s      *bufio.Scanner
	line   int // number of the line last read
	blank  int // first blank line seen since the last value; 0 if none
	value  float64
	count  int
	err    error
	labels bool
}

// NewScanner reads numbers from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{s: bufio.NewScanner(r)}
}

// NewLabelScanner reads binary class labels from r: each value must equal 0 or 1 (so "1", "1.0" and "1e0"
// are all accepted), reported as 0 or 1.
func NewLabelScanner(r io.Reader) *Scanner {
	return &Scanner{s: bufio.NewScanner(r), labels: true}
}

// Scan advances to the next value. It returns false at the end of input or on the first error.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	for s.s.Scan() {
		s.line++
		text := s.s.Bytes()
		if s.line == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
		}
		text = trimSpace(text)
		if len(text) == 0 {
			if s.blank == 0 {
				s.blank = s.line
			}
			continue
		}
		if s.blank != 0 {
			s.err = &LineError{Line: s.blank, Reason: "blank line before more values"}
			return false
		}
		v, reason := parse(text, s.labels)
		if reason != "" {
			s.err = &LineError{Line: s.line, Reason: reason}
			return false
		}
		s.value = v
		s.count++
		return true
	}
	if err := s.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			s.err = &LineError{Line: s.line + 1, Reason: fmt.Sprintf("line longer than %d bytes", bufio.MaxScanTokenSize)}
		} else {
			s.err = fmt.Errorf("read after line %d: %w", s.line, err)
		}
		return false
	}
	if s.count == 0 {
		s.err = ErrEmpty
	}
	return false
}

// Value returns the value read by the last successful Scan.
func (s *Scanner) Value() float64 { return s.value }

// Line returns the 1-based line number of the value read by the last successful Scan.
func (s *Scanner) Line() int { return s.line }

// Count returns how many values have been read so far.
func (s *Scanner) Count() int { return s.count }

// Err returns the first error met: a *LineError, ErrEmpty, or the reader's error (wrapped).
func (s *Scanner) Err() error { return s.err }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// parse returns the value of text, or a reason why it is not acceptable.
func parse(text []byte, label bool) (float64, string) {
	if label && len(text) == 1 && (text[0] == '0' || text[0] == '1') {
		return float64(text[0] - '0'), ""
	}
	if n := bytes.Count(text, []byte(",")); n > 0 {
		return 0, fmt.Sprintf("want one value, found %d comma-separated columns in %s", n+1, quote.Value(string(text)))
	}
	v, err := strconv.ParseFloat(string(text), 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fmt.Sprintf("%s is out of float64 range", quote.Value(string(text)))
	case err != nil:
		return 0, fmt.Sprintf("%s is not a number", quote.Value(string(text)))
	case math.IsNaN(v):
		return 0, fmt.Sprintf("%s: NaN is not allowed", quote.Value(string(text)))
	case math.IsInf(v, 0):
		return 0, fmt.Sprintf("%s: infinity is not allowed", quote.Value(string(text)))
	case !decimal(text):
		return 0, fmt.Sprintf("%s is not a decimal number", quote.Value(string(text)))
	case label && v != 0 && v != 1:
		return 0, fmt.Sprintf("target %s is not a class label 0 or 1", quote.Value(string(text)))
	}
	return v, ""
}

// decimal reports whether text uses only decimal-number characters: ParseFloat also takes hex floats and
// digit separators ("0x1p-2", "0x_1"), which no CSV writer produces.
func decimal(text []byte) bool {
	for _, c := range text {
		switch {
		case c >= '0' && c <= '9', c == '.', c == '+', c == '-', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}
