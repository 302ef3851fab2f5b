//go:build !unix

package algorithm

import "os/exec"

// killGroupOnCancel keeps exec's default on systems without process groups: cancellation kills the child.
func killGroupOnCancel(cmd *exec.Cmd) {}
