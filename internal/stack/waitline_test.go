package stack

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestWaitForLine(t *testing.T) {
	re := regexp.MustCompile(`listening on http://(\S+)`)
	log := filepath.Join(t.TempDir(), "p.log")
	if err := os.WriteFile(log, []byte("listening on http://127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	offset := int64(len("listening on http://127.0.0.1:1\n"))

	// A line written after the offset, by a process that is still running, is found.
	cmd := exec.Command("sh", "-c", "sleep 0.2; echo 'localaws listening on http://127.0.0.1:2' >> "+log+"; sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := WaitForLine(ctx, log, offset, cmd.Process.Pid, re)
	if err != nil || got != "127.0.0.1:2" {
		t.Fatalf("WaitForLine = %q, %v; want the address written after the offset", got, err)
	}

	// A process that exits without the line fails the wait with errExited, not at the deadline.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	_, err = WaitForLine(ctx, log, int64(len(got))+offset+100, gone.Process.Pid, re)
	if !errors.Is(err, errExited) {
		t.Fatalf("WaitForLine for an exited process: %v; want errExited", err)
	}
}
