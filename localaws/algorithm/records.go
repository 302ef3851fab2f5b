package algorithm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Format is a record format the local XGBoost reads.
type Format int

const (
	// LibSVM is "label[:weight] [qid:n] index:value ...", one record a line (text/libsvm).
	LibSVM Format = iota
	// CSV is comma-separated numbers without a header, one record a line (text/csv). For training the label
	// is the first column (and the weight the second when csv_weights=1); for prediction every column is a
	// feature.
	CSV
)

// String returns the format's content type.
func (f Format) String() string {
	if f == CSV {
		return "text/csv"
	}
	return "text/libsvm"
}

// ParseContentType maps a channel's ContentType to a Format the way the SageMaker XGBoost container does:
// text/csv or csv (with an optional label_size=1 parameter), text/libsvm or libsvm, and libsvm when empty.
func ParseContentType(contentType string) (Format, error) {
	base, params, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	base = strings.TrimSpace(base)
	for _, p := range strings.Split(params, ";") {
		p = strings.ReplaceAll(p, " ", "")
		if p != "" && p != "label_size=1" {
			return 0, fmt.Errorf("content type %q: parameter %q is not supported (only label_size=1)", contentType, p)
		}
	}
	switch base {
	case "text/csv", "csv":
		return CSV, nil
	case "", "text/libsvm", "libsvm", "text/x-libsvm":
		return LibSVM, nil
	}
	return 0, fmt.Errorf("content type %q is not supported locally (use text/csv or text/libsvm)", contentType)
}

// isNumber reports whether b is a finite decimal number as XGBoost's parsers read it: an optional sign,
// digits with an optional fraction, and an optional exponent. XGBoost rejects nan and inf in its input.
func isNumber(b []byte) bool {
	i, digits := 0, 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}

func quoteShort(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// checkCSV checks one non-blank CSV record and returns its number of fields.
func checkCSV(line []byte) (int, error) {
	n := 0
	for {
		field, rest, more := bytes.Cut(line, []byte{','})
		n++
		f := bytes.Trim(field, " \t")
		if len(f) == 0 {
			return 0, fmt.Errorf("field %d is empty (missing values are not supported in CSV; use libsvm)", n)
		}
		if !isNumber(f) {
			return 0, fmt.Errorf("field %d is not a finite number: %s", n, quoteShort(f))
		}
		if !more {
			return n, nil
		}
		line = rest
	}
}

// checkLibSVM checks one non-blank libsvm record and returns one more than its largest feature index.
func checkLibSVM(line []byte) (int, error) {
	tokens := bytes.Fields(line)
	label, weight, hasWeight := bytes.Cut(tokens[0], []byte{':'})
	if !isNumber(label) || (hasWeight && !isNumber(weight)) {
		return 0, fmt.Errorf("label %s is not a number (or number:weight)", quoteShort(tokens[0]))
	}
	width := 0
	for i, tok := range tokens[1:] {
		idx, val, ok := bytes.Cut(tok, []byte{':'})
		if i == 0 && string(idx) == "qid" {
			if _, err := strconv.ParseUint(string(val), 10, 32); !ok || err != nil {
				return 0, fmt.Errorf("%s is not qid:<integer>", quoteShort(tok))
			}
			continue
		}
		n, err := strconv.ParseUint(string(idx), 10, 32)
		if !ok || err != nil || !isNumber(val) {
			return 0, fmt.Errorf("%s is not index:value", quoteShort(tok))
		}
		width = max(width, int(n)+1)
	}
	return width, nil
}

// recordStats describes records copied by copyRecords.
type recordStats struct {
	rows int
	// width is the number of CSV fields of every record, or one more than the largest libsvm feature index.
	width int
	// widthAt names where the CSV width was first seen, for error messages.
	widthAt string
}

// copyRecords checks every record of src (named name in errors) and copies it to dst with "\n" line ends.
// Blank lines are dropped when skipBlank is set (XGBoost skips them when training); otherwise a blank line
// before the last record is an error, because a prediction could no longer be matched to its input line.
func copyRecords(dst *bufio.Writer, src io.Reader, name string, format Format, skipBlank bool, st *recordStats) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	lineNo, blankAt := 0, 0
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if len(bytes.Trim(line, " \t")) == 0 {
			if blankAt == 0 {
				blankAt = lineNo
			}
			continue
		}
		if blankAt != 0 && !skipBlank {
			return fmt.Errorf("%s line %d: blank line inside the input (every line must be a record)", name, blankAt)
		}
		blankAt = 0
		var width int
		var err error
		if format == CSV {
			width, err = checkCSV(line)
		} else {
			width, err = checkLibSVM(line)
		}
		if err != nil {
			return fmt.Errorf("%s line %d: %w", name, lineNo, err)
		}
		switch {
		case format != CSV:
			st.width = max(st.width, width)
		case st.widthAt == "":
			st.width, st.widthAt = width, fmt.Sprintf("%s line %d", name, lineNo)
		case width != st.width:
			return fmt.Errorf("%s line %d: row has %d fields, but %s has %d", name, lineNo, width, st.widthAt, st.width)
		}
		st.rows++
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if err := dst.WriteByte('\n'); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s line %d: line longer than 64 MiB", name, lineNo+1)
		}
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// channelFiles lists the regular files under dir, in the order of their S3 keys (slash-separated paths
// relative to dir, compared bytewise), which is the order their records are concatenated in.
func channelFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// concatChannel checks the records of every file of a channel and writes them, in key order, to dst.
func concatChannel(dir, channel string, format Format, dst string) (recordStats, error) {
	var st recordStats
	files, err := channelFiles(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("channel %s: no data directory", channel)
	}
	if err != nil {
		return st, fmt.Errorf("channel %s: list files: %w", channel, err)
	}
	if len(files) == 0 {
		return st, fmt.Errorf("channel %s is empty: it has no files", channel)
	}
	out, err := os.Create(dst)
	if err != nil {
		return st, fmt.Errorf("channel %s: %w", channel, err)
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	for _, rel := range files {
		in, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return st, fmt.Errorf("channel %s: %w", channel, err)
		}
		err = copyRecords(w, in, "channel "+channel+": file "+path.Clean(rel), format, true, &st)
		in.Close()
		if err != nil {
			return st, err
		}
	}
	if st.rows == 0 {
		return st, fmt.Errorf("channel %s is empty: its %d file(s) hold no records", channel, len(files))
	}
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("channel %s: write %s: %w", channel, dst, err)
	}
	if err := out.Close(); err != nil {
		return st, fmt.Errorf("channel %s: write %s: %w", channel, dst, err)
	}
	return st, nil
}

// sparseRows is a batch of records in compressed sparse row form, as libxgboost takes them: the values of
// row i are values[indptr[i]:indptr[i+1]], at the feature indices of the same positions.
type sparseRows struct {
	indptr  []uint64
	indices []uint32
	values  []float32
}

func (s *sparseRows) reset() {
	s.indptr, s.indices, s.values = append(s.indptr[:0], 0), s.indices[:0], s.values[:0]
}

func (s *sparseRows) add(index uint32, value float32) {
	s.indices, s.values = append(s.indices, index), append(s.values, value)
}

func (s *sparseRows) endRow() { s.indptr = append(s.indptr, uint64(len(s.indices))) }

func (s *sparseRows) rows() int { return len(s.indptr) - 1 }
