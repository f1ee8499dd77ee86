//go:build !linux

package integration_test

import "os/exec"

func setDeathSignal(cmd *exec.Cmd) {}
