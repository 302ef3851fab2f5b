package algorithm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// waitDelay bounds how long a finished or cancelled child may keep its output pipes open (for example through
// a grandchild that inherited them) before Wait gives up on them.
const waitDelay = 5 * time.Second

// PIDFile is the file, in the working directory of a job's algorithm (the job's root when training, the
// model directory when predicting), that records the algorithm's process group while it runs. It is removed
// when the process ends; one that is left over means localaws ended without reaping it, and KillLeftover
// ends what it records.
const PIDFile = ".algorithm.pid"

// command builds a child process that is never run through a shell, runs in its own process group, and is
// killed together with that group when ctx is cancelled. On Linux the child also gets SIGKILL when localaws
// dies (the parent-death signal), so that an algorithm never outlives the server that runs its job. Run it
// with run.
func command(ctx context.Context, program, dir string, env []string, out io.Writer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)
	return cmd
}

// pidRecord is the content of a PIDFile: the process group (its leader's pid), the leader's start time in
// clock ticks since boot, and the boot it was started in, so that a pid reused since is not mistaken for it.
type pidRecord struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Boot  string `json:"boot"`
}

// MarkerVar names the environment variable that marks every algorithm process, and every process it starts,
// with its working directory (the PIDFile's), so that KillLeftover finds them when no record was written:
// localaws can die between starting an algorithm and recording it, and the algorithm's children, unlike the
// algorithm itself, get no parent-death signal.
const MarkerVar = "LOCALAWS_ALGORITHM_DIR"

// run starts cmd from a thread that lives as long as localaws (see startProcess), marked with pidDir (see
// MarkerVar), records its process group in pidDir/PIDFile, waits for it and removes the record.
func run(cmd *exec.Cmd, pidDir string) error {
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, MarkerVar+"="+absDir(pidDir))
	if err := startProcess(cmd); err != nil {
		return err
	}
	file := filepath.Join(pidDir, PIDFile)
	rec := pidRecord{PID: cmd.Process.Pid, Start: processStart(cmd.Process.Pid), Boot: bootID()}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		// Without a record a leftover could not be found after a crash: do not run unrecorded.
		_ = cmd.Cancel()
		_ = cmd.Wait()
		return fmt.Errorf("record algorithm process: %w", err)
	}
	err := cmd.Wait()
	if rerr := os.Remove(file); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = fmt.Errorf("remove algorithm process record: %w", rerr)
	}
	return err
}

// KillLeftover ends the algorithm processes recorded in dir/PIDFile, left running by a localaws that ended
// without reaping them (a kill -9, a crash), and removes the record; then (on Linux) every process still
// marked as an algorithm of dir (MarkerVar), with its process group, which finds them when the record was
// never written. It is for jobs that were running when localaws stopped: call it on start-up, before the job
// is marked failed. Nothing recorded is killed when the record is of an earlier boot or its process group is
// gone, or when the group's leader is a different process that reused the pid. Only Linux records start
// times and reads markers; elsewhere it removes the record and kills nothing.
func KillLeftover(dir string) error {
	return errors.Join(killRecorded(dir), killMarked(dir))
}

// absDir is dir made absolute, so that a marker matches whatever the working directory of the localaws that
// looks for it.
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// killRecorded ends the process group dir/PIDFile records and removes the record.
func killRecorded(dir string) error {
	file := filepath.Join(dir, PIDFile)
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read algorithm process record: %w", err)
	}
	var rec pidRecord
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil || rec.PID <= 1 {
		return errors.Join(fmt.Errorf("algorithm process record %s is not valid: removed", file), os.Remove(file))
	}
	if err := killGroup(rec); err != nil {
		return fmt.Errorf("kill leftover algorithm process group %d: %w", rec.PID, err)
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove algorithm process record: %w", err)
	}
	return nil
}

// starter is the goroutine that starts every algorithm process: see startProcess.
var starter struct {
	once sync.Once
	reqs chan startRequest
}

type startRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startProcess starts cmd from one goroutine that is locked to its OS thread and never ends. Linux sends the
// parent-death signal when the thread that started the child ends, not the process, and the Go runtime ends
// a thread when a goroutine locked to it returns; starting from a thread that lives as long as localaws
// makes the signal mean "localaws died".
func startProcess(cmd *exec.Cmd) error {
	starter.once.Do(func() {
		starter.reqs = make(chan startRequest)
		go startLoop(starter.reqs)
	})
	done := make(chan error, 1)
	starter.reqs <- startRequest{cmd: cmd, done: done}
	return <-done
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
