package algorithm

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"sync"
	"time"
)

// waitDelay bounds how long a finished or cancelled child may keep its output pipes open (for example through
// a grandchild that inherited them) before Wait gives up on them.
const waitDelay = 5 * time.Second

// command builds a child process that is never run through a shell, runs in its own process group, and is
// killed together with that group when ctx is cancelled.
func command(ctx context.Context, program, dir string, env []string, out io.Writer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	killGroupOnCancel(cmd)
	return cmd
}

// lineWriter forwards a child's output to logs and hands each complete line to onLine. exec.Cmd calls Write
// from one goroutine at a time when Stdout and Stderr are the same writer; the mutex keeps that true for
// other callers.
type lineWriter struct {
	mu     sync.Mutex
	logs   io.Writer
	onLine func(line string)
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.logs != nil {
		// A failing log sink must not fail the algorithm: its output is still parsed.
		_, _ = w.logs.Write(p)
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.onLine(string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush hands a last line without a newline to onLine.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.onLine(string(w.buf))
		w.buf = nil
	}
}
