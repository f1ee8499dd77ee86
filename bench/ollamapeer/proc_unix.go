//go:build unix

package ollamapeer

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the server into a new process group, so that its
// runner subprocesses can be killed with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate sends SIGTERM to the server alone; ollama then stops its runners.
func terminate(cmd *exec.Cmd) error {
	return cmd.Process.Signal(syscall.SIGTERM)
}

// killProcessGroup sends SIGKILL to the process group the server leads (its
// id is the server's pid). Errors (no such group: everything has exited
// already) are ignored.
func killProcessGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
