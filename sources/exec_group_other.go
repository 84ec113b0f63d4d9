//go:build !unix

package sources

import (
	"os"
	"os/exec"
)

// ownProcessGroup does nothing where there are no Unix process groups:
// stopping a program stops that program only.
func ownProcessGroup(*exec.Cmd) {}

// terminateGroup does nothing: without signals, the grace period passes
// and killGroup ends the program.
func terminateGroup(int) {}

// killGroup kills the program.
func killGroup(_ int, p *os.Process) { p.Kill() }
