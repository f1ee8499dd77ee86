package cluster

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/asmr-search/generative-asmr/internal/localcluster"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// procTicks sums the CPU time (user + system, every thread) of the
// cluster's processes, from /proc/<pid>/stat, in clock ticks.
func procTicks(c *localcluster.Cluster) uint64 {
	var sum uint64
	for _, n := range c.Nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.PID))
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

// cpuSample is the machine's CPU time in clock ticks: busy and in all.
type cpuSample struct{ busy, total uint64 }

// cpuTimes reads the machine's CPU time from /proc/stat (zero elsewhere).
func cpuTimes() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var s cpuSample
	for i, v := range f[1:] {
		var x uint64
		fmt.Sscan(v, &x)
		s.total += x
		if i != 3 && i != 4 { // idle, iowait
			s.busy += x
		}
	}
	return s
}
