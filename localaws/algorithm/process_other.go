//go:build !unix

package algorithm

import "os/exec"

// ownProcessGroup keeps exec's default on systems without process groups: cancellation kills the child.
func ownProcessGroup(cmd *exec.Cmd) {}

func startLoop(reqs chan startRequest) {
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}

func processStart(int) uint64 { return 0 }
func bootID() string          { return "" }

func killGroup(pidRecord) error { return nil }

// killMarked reads no process environments here: only the record finds leftovers.
func killMarked(string) error { return nil }
