//go:build linux

package localcluster

import "syscall"

// sysProcAttr: detached nodes get their own session (setsid), so neither
// the end of this process nor a signal to its terminal's process group
// reaches them; attached ones are killed by the kernel when the thread
// that started them dies (the test process, even on a timeout or kill -9).
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
