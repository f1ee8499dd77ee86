package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/asmr-search/generative-asmr/internal/localcluster"
)

// ClockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const ClockTicks = 100

// procTicks sums the CPU time of the cluster's processes in clock ticks.
func procTicks(c *localcluster.Cluster) uint64 {
	var pids []int
	for _, n := range c.Nodes {
		pids = append(pids, n.PID)
	}
	return ProcTicks(pids...)
}

// ProcTicks sums the CPU time (user + system, every thread) of the
// processes pids, from /proc/<pid>/stat, in clock ticks; a process that is
// gone counts zero.
func ProcTicks(pids ...int) uint64 {
	var sum uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised name: state is field 3, utime 14, stime 15.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		var u, st uint64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &st)
		sum += u + st
	}
	return sum
}

// CPUSample is the machine's CPU time in clock ticks: busy and in all.
type CPUSample struct{ Busy, Total uint64 }

// BusySince is the share of all CPUs busy between s0 and s (0 when no
// time passed).
func (s CPUSample) BusySince(s0 CPUSample) float64 {
	if s.Total <= s0.Total {
		return 0
	}
	return float64(s.Busy-s0.Busy) / float64(s.Total-s0.Total)
}

// CPUTimes reads the machine's CPU time from /proc/stat (zero elsewhere).
func CPUTimes() CPUSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var s CPUSample
	for i, v := range f[1:] {
		var x uint64
		fmt.Sscan(v, &x)
		s.Total += x
		if i != 3 && i != 4 { // idle, iowait
			s.Busy += x
		}
	}
	return s
}

// ChildPIDs lists the processes whose parent is pid (ollama's runner),
// from /proc; none elsewhere.
func ChildPIDs(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		var c int
		if _, err := fmt.Sscan(e.Name(), &c); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the parenthesised name: state, then the parent's pid.
		i := strings.LastIndexByte(string(b), ')')
		var state string
		var ppid int
		if i >= 0 {
			fmt.Sscan(string(b[i+1:]), &state, &ppid)
		}
		if ppid == pid {
			out = append(out, c)
		}
	}
	return out
}
