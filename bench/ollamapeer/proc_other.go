//go:build !unix

package ollamapeer

import "os/exec"

func setProcessGroup(cmd *exec.Cmd) {}

func terminate(cmd *exec.Cmd) error { return cmd.Process.Kill() }

func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
