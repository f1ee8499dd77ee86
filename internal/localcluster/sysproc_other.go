//go:build unix && !linux

package localcluster

import "syscall"

// sysProcAttr: detached nodes get their own session (setsid); there is no
// parent-death signal outside Linux.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return nil
}
