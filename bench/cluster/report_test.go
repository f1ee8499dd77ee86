package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestClusterBenchReport(t *testing.T) {
	run := func(wall time.Duration, errs int) result {
		return result{queries: 10, wall: wall, tokens: 320, errors: errs, latencies: []time.Duration{time.Second, 2 * time.Second}, cpuBusy: 0.5, nodesCPU: 1.5}
	}
	configs := []*setup{
		{name: "1 node, 2 slots", nodes: 1, slots: 2, runs: []result{run(10*time.Second, 0), run(12*time.Second, 0), run(9*time.Second, 0)}},
		{name: "1 node, 6 slots (the cluster's total)", nodes: 1, slots: 6, runs: []result{run(8*time.Second, 0)}},
		{name: "3 nodes, 2 slots each", nodes: 3, slots: 2, runs: []result{run(8*time.Second, 1)}},
	}
	configs[2].runs[0].firstErr = "generative-asmr: busy"
	r := report(configs, "m", Config{Threads: 1, MaxTokens: 32, Passages: 3, Queries: 10, Concurrency: 6, Rounds: 3})
	for _, want := range []string{
		"| 1 node, 2 slots | 1.00 | 0.67 | 32.0 | 2.00 | 2.00 | 1.50 | 50% | 0 | 1.00, 0.83, 1.11 |", // median round of three
		"| 3 nodes, 2 slots each | 1.12 |", // 9 answered in 8 s
		"queries/s: 3 nodes, 2 slots each / 1 node, 2 slots = **1.12**",
		"3 nodes, 2 slots each / 1 node, 6 slots (the cluster's total) = **0.90**",
		"up to 33% in queries/s",
		"overhead, not gain",
		"expected ratio is about N",
		"generative-asmr: busy",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
}
