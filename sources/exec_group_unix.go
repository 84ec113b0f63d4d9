//go:build unix

package sources

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup makes cmd the leader of a process group of its own, so
// that stopping it stops the programs it starts (a shell's children).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminateGroup asks the process group of pid to stop (SIGTERM).
func terminateGroup(pid int) { syscall.Kill(-pid, syscall.SIGTERM) }

// killGroup kills the process group of pid (SIGKILL).
func killGroup(pid int, _ *os.Process) { syscall.Kill(-pid, syscall.SIGKILL) }
