package logs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileStampsEachLine writes a log in pieces at different times and reads it back: each line has the time
// its newline was written, a last line without a newline ends with Close, and the times come from the stamps
// file (not the log's modification time), so they survive a restart.
func TestFileStampsEachLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "algorithm.log")
	now := time.UnixMilli(1_000_000)
	f, err := Create(path, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("first\nsec")
	now = now.Add(time.Second)
	write("ond\nthird\n")
	now = now.Add(time.Second)
	write("no newline")
	if events, err := readEvents(path); err != nil || len(events) != 3 {
		t.Fatalf("while written: %+v, %v; want the 3 complete lines", events, err)
	}
	now = now.Add(time.Second)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Now(), time.UnixMilli(5)); err != nil {
		t.Fatal(err)
	}
	events, err := readEvents(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []event{{1_000_000, "first"}, {1_001_000, "second"}, {1_001_000, "third"}, {1_003_000, "no newline"}}
	if len(events) != len(want) {
		t.Fatalf("events %+v, want %+v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, events[i], want[i])
		}
	}
}

// TestEventsWithoutStamps reads a log written before times were recorded: its lines take the file's time.
func TestEventsWithoutStamps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transform.log")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.UnixMilli(1_234_000)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	events, err := readEvents(path)
	if err != nil || len(events) != 2 || events[0] != (event{1_234_000, "a"}) || events[1] != (event{1_234_000, "b"}) {
		t.Fatalf("events %+v, %v", events, err)
	}
}
