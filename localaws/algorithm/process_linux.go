package algorithm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// ownProcessGroup starts the child as the leader of a new process group, with SIGKILL as its parent-death
// signal, and makes cancellation kill the whole group, so that helpers the child started (a script's
// children) end with it. The parent-death signal reaches the child only, not helpers it started: those end
// when they next write to localaws's closed pipes, or when the restarted localaws calls KillLeftover.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func startLoop(reqs chan startRequest) {
	runtime.LockOSThread() // never unlocked: this goroutine and its thread live as long as localaws
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}

// procStat returns the fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ...
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	return f, len(f) > 19
}

// processStart is the start time of a process in clock ticks since boot, or 0 when it is gone.
func processStart(pid int) uint64 {
	f, ok := procStat(pid)
	if !ok {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// killGroup kills the recorded process group if it is still the one recorded: same boot, and its leader
// either gone (the kernel does not reuse a pid while a group of that number has members) or the process
// that started at the recorded time.
func killGroup(rec pidRecord) error {
	if rec.Boot == "" || rec.Boot != bootID() {
		return nil
	}
	if f, ok := procStat(rec.PID); ok && f[0] != "Z" {
		if start := processStart(rec.PID); rec.Start != 0 && start != rec.Start {
			return nil // another process has the pid now
		}
	}
	err := syscall.Kill(-rec.PID, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// killMarked kills, with their process groups, the processes whose environment marks them as algorithm
// processes of dir (MarkerVar=dir): never localaws itself or its own group.
func killMarked(dir string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	want := []byte("\x00" + MarkerVar + "=" + absDir(dir) + "\x00")
	self, ownGroup := os.Getpid(), syscall.Getpgrp()
	var errs []error
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), want) {
			continue // gone, not ours to read, or not marked
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 && pgid != ownGroup {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill leftover algorithm process %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}
