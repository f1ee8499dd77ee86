// Package sysinfo describes the machine a benchmark ran on, for its
// report.
package sysinfo

import (
	"os/exec"
	"runtime"
	"strings"
)

// CPUModel is the CPU's model name from /proc/cpuinfo, or GOARCH where
// there is none.
func CPUModel() string {
	out, err := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return runtime.GOARCH
	}
	return strings.TrimSpace(string(out))
}
