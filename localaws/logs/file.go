package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"
)

// stampsSuffix names the file beside a job's log that holds the time of each of its lines.
const stampsSuffix = ".times"

// maxLogBytes bounds how much of one log file a request reads.
const maxLogBytes = 64 << 20

// File is a job's log as the job writes it: the text goes to the log file unchanged, and the time each
// line ends is appended to <log>.times (one decimal Unix time in milliseconds a line), so that the log's
// events keep the times they were written at across restarts. Safe for concurrent writers.
type File struct {
	mu      sync.Mutex
	log     *os.File
	stamps  *os.File
	clock   func() time.Time
	partial bool
}

// Create opens the log file path for appending (creating it and its stamps file), with clock giving the
// time of each line (time.Now when nil).
func Create(path string, clock func() time.Time) (*File, error) {
	if clock == nil {
		clock = time.Now
	}
	log, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	stamps, err := os.OpenFile(path+stampsSuffix, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("open log times %s: %w", path+stampsSuffix, err)
	}
	return &File{log: log, stamps: stamps, clock: clock}, nil
}

// Write appends p to the log and stamps each line p ends.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.log.Write(p)
	if lines := bytes.Count(p[:n], []byte{'\n'}); lines > 0 {
		if serr := f.stamp(lines); serr != nil && err == nil {
			err = serr
		}
	}
	if n > 0 {
		f.partial = p[n-1] != '\n'
	}
	return n, err
}

// stamp records the current time for lines new lines; the caller holds mu.
func (f *File) stamp(lines int) error {
	ms := strconv.FormatInt(f.clock().UnixMilli(), 10) + "\n"
	_, err := f.stamps.Write(bytes.Repeat([]byte(ms), lines))
	if err != nil {
		return fmt.Errorf("write log times: %w", err)
	}
	return nil
}

// Close ends a last line that has no newline (a log event is a whole line) and closes the files.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.partial {
		if _, werr := f.log.Write([]byte{'\n'}); werr != nil {
			err = fmt.Errorf("end log: %w", werr)
		} else {
			err = f.stamp(1)
		}
		f.partial = false
	}
	return errors.Join(err, f.log.Close(), f.stamps.Close())
}

// event is one line of a log.
type event struct {
	timestamp int64 // Unix milliseconds
	message   string
}

// readEvents returns the complete lines of the log file path with their times. Lines without a recorded
// time (written before times were recorded) take the log file's modification time. A missing file is an
// empty log.
func readEvents(path string) ([]event, error) {
	log, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	defer log.Close()
	info, err := log.Stat()
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(log, maxLogBytes))
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	times, err := readStamps(path + stampsSuffix)
	if err != nil {
		return nil, err
	}
	var events []event
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		ts := info.ModTime().UnixMilli()
		if i := len(events); i < len(times) {
			ts = times[i]
		}
		events = append(events, event{timestamp: ts, message: string(line)})
	}
	return events, nil
}

// readStamps reads a stamps file; a missing one has no times.
func readStamps(path string) ([]int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log times: %w", err)
	}
	defer f.Close()
	var times []int64
	sc := bufio.NewScanner(io.LimitReader(f, maxLogBytes))
	for sc.Scan() {
		ms, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			break // a torn last line: the lines from here take the file's time
		}
		times = append(times, ms)
	}
	return times, nil
}
