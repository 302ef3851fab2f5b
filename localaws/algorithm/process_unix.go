//go:build unix && !linux

package algorithm

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the child as the leader of a new process group and makes cancellation kill the
// whole group, so that helpers the child started (a script's children) end with it. Systems other than Linux
// have no parent-death signal.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func startLoop(reqs chan startRequest) {
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}

func processStart(int) uint64 { return 0 }
func bootID() string          { return "" }

// killGroup kills nothing: without start times a reused pid cannot be told from the recorded process.
func killGroup(pidRecord) error { return nil }

// killMarked reads no process environments here: only the record finds leftovers.
func killMarked(string) error { return nil }
