//go:build unix

package algorithm

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts the child as the leader of a new process group and makes cancellation kill the
// whole group, so that helpers the child started (a script's children) end with it.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
