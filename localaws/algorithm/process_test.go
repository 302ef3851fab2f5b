package algorithm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive says whether pid is a running process (not gone, not a zombie waiting to be reaped).
func alive(pid int) bool {
	f, ok := procStat(pid)
	return ok && f[0] != "Z"
}

// waitPID returns the pid a script writes to file, waiting for it.
func waitPID(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			must(t, err)
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written within 30s", file)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) is still running", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunRecordsProcess checks that a running algorithm is recorded in its working directory, that the
// record goes when it ends, and that KillLeftover ends the whole recorded group, a helper the program
// started included.
func TestRunRecordsProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := command(context.Background(), "/bin/sh", dir, nil, nil, "-c", `sleep 300 & echo $! > helper.pid; wait`)
	done := make(chan error, 1)
	go func() { done <- run(cmd, dir) }()
	helper := waitPID(t, filepath.Join(dir, "helper.pid"))
	var rec pidRecord
	b, err := os.ReadFile(filepath.Join(dir, PIDFile))
	must(t, err)
	must(t, json.Unmarshal(b, &rec))
	if rec.PID != cmd.Process.Pid || rec.Start == 0 || rec.Boot == "" {
		t.Fatalf("record %+v, want pid %d with its start time and boot", rec, cmd.Process.Pid)
	}
	if pgid, err := syscall.Getpgid(helper); err != nil || pgid != rec.PID {
		t.Fatalf("helper's process group %d (%v), want the program's own group %d", pgid, err, rec.PID)
	}
	must(t, KillLeftover(dir))
	select {
	case err := <-done:
		if err == nil {
			t.Error("run returned no error for a killed program")
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return after KillLeftover")
	}
	waitGone(t, helper, "the program's helper")
	if _, err := os.Stat(filepath.Join(dir, PIDFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record is still there after the program ended (stat: %v)", err)
	}
	must(t, KillLeftover(dir)) // nothing recorded: nothing to do
}

// TestKillLeftoverSparesOthers checks the records that must not kill anything: another boot's, one whose pid
// now belongs to another process, and one that is not a record at all.
func TestKillLeftoverSparesOthers(t *testing.T) {
	other := exec.Command("sleep", "300")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, other.Start())
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	start := processStart(other.Process.Pid)
	tests := []struct {
		name, record, wantErr string
	}{
		{"earlier boot", `{"pid":` + strconv.Itoa(other.Process.Pid) + `,"start":` + strconv.FormatUint(start, 10) + `,"boot":"another"}`, ""},
		{"pid reused", `{"pid":` + strconv.Itoa(other.Process.Pid) + `,"start":` + strconv.FormatUint(start+1, 10) + `,"boot":"` + bootID() + `"}`, ""},
		{"not a record", "garbage", "is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, PIDFile), []byte(tt.record), 0o644))
			err := KillLeftover(dir)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("KillLeftover: %v, want %q", err, tt.wantErr)
			}
			if !alive(other.Process.Pid) {
				t.Fatal("KillLeftover killed a process it had not recorded")
			}
			if _, err := os.Stat(filepath.Join(dir, PIDFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the record is still there (stat: %v)", err)
			}
		})
	}
}

// TestKillLeftoverFindsUnrecordedAlgorithms: localaws can die after starting an algorithm and before recording
// it; the algorithm gets the parent-death signal, its helpers do not. KillLeftover finds them by their marker,
// and spares the processes of another job's directory.
func TestKillLeftoverFindsUnrecordedAlgorithms(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	start := func(marked string) (*exec.Cmd, int) {
		cmd := exec.Command("/bin/sh", "-c", `sleep 3600 & echo $! > helper.pid; wait`)
		cmd.Dir = marked
		cmd.Env = append(os.Environ(), MarkerVar+"="+marked)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		must(t, cmd.Start())
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd, waitPID(t, filepath.Join(marked, "helper.pid"))
	}
	program, helper := start(dir)
	_, spared := start(other)
	must(t, KillLeftover(dir)) // no record: the marker finds them
	waitGone(t, helper, "the unrecorded algorithm's helper")
	waitGone(t, program.Process.Pid, "the unrecorded algorithm")
	if !alive(spared) {
		t.Error("KillLeftover killed the algorithm of another job")
	}
}
