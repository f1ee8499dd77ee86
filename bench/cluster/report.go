package cluster

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/bench/internal/sysinfo"
)

// result is one measurement of one setup.
type result struct {
	queries, errors int
	wall            time.Duration
	latencies       []time.Duration
	tokens          int
	cpuBusy         float64 // share of all CPUs busy during the run
	nodesCPU        float64 // CPUs the cluster's processes used, on average
	firstErr        string
}

func (r result) qps() float64 { return float64(r.queries-r.errors) / r.wall.Seconds() }
func (r result) tps() float64 { return float64(r.tokens) / r.wall.Seconds() }

// perCPU is answered queries per second of the nodes' CPU time.
func (r result) perCPU() float64 {
	if r.nodesCPU <= 0 {
		return 0
	}
	return r.qps() / r.nodesCPU
}
func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}
func (r result) median() time.Duration { return r.quantile(0.5) }
func (r result) p90() time.Duration    { return r.quantile(0.9) }

// median returns the run with the median throughput.
func (c *setup) median() result {
	rs := slices.Clone(c.runs)
	slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.qps(), b.qps()) })
	return rs[len(rs)/2]
}

// medianPerCPU is the median over rounds of answered queries per second of
// the nodes' own CPU time: throughput that other work on a shared machine
// disturbs less than queries/s.
func (c *setup) medianPerCPU() float64 {
	var v []float64
	for _, r := range c.runs {
		v = append(v, r.perCPU())
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// spread is the largest relative difference between two rounds' queries/s.
func (c *setup) spread() float64 {
	lo, hi := math.Inf(1), 0.0
	for _, r := range c.runs {
		lo, hi = min(lo, r.qps()), max(hi, r.qps())
	}
	return hi/lo - 1
}

// report is the Markdown report of the measured setups; the last one is
// the cluster, the second one node with the cluster's total slots.
func report(configs []*setup, model string, cfg Config) string {
	threads, maxTokens, passages, queries, conc, rounds := cfg.Threads, cfg.MaxTokens, cfg.Passages, cfg.Queries, cfg.Concurrency, cfg.Rounds
	var b strings.Builder
	ncpu := runtime.NumCPU()
	one, total, cluster := configs[0], configs[1], configs[len(configs)-1]
	fmt.Fprintf(&b, "# Cluster throughput: grouped generate queries, 1 node and %d nodes\n\n", cluster.nodes)
	fmt.Fprintf(&b, "Written by `asmr cluster bench` (`make bench-cluster`) on %s, on %s with **%d CPUs**; every node on this one machine.\n\n",
		time.Now().UTC().Format("2006-01-02"), sysinfo.CPUModel(), ncpu)
	fmt.Fprintf(&b, "- Model: %s, unsteered, greedy.\n", model)
	fmt.Fprintf(&b, "- Each slot decodes with %d thread(s); %d generated tokens per answer.\n", threads, maxTokens)
	fmt.Fprintf(&b, "- Load: %d GraphQL `groupedResult` queries (nearVector, %d passages each), %d in flight at once; on the cluster, query *i* goes to node *i mod N* (round-robin over the nodes' HTTP ports). The class has `replicationConfig.factor` = the node count.\n", queries, passages, conc)
	fmt.Fprintf(&b, "- The configurations run side by side and are measured in %d interleaved rounds after a warm-up query on every node; the table gives medians over the rounds. *Nodes' CPUs* is the CPU time of the configuration's own processes per second of the run; *machine busy* is the share of all %d CPUs in use by anything (this machine is shared, so other work shows there). *Queries per CPU-second* divides queries/s by the nodes' CPUs: the throughput per unit of CPU the nodes actually got, which other work on the machine disturbs less.\n\n", rounds, ncpu)
	fmt.Fprintln(&b, "| configuration | queries/s | queries per CPU-second | generated tokens/s | median latency s | p90 latency s | nodes' CPUs | machine busy | errors | queries/s of every round |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range configs {
		m := c.median()
		var all []string
		errs := 0
		for _, r := range c.runs {
			all = append(all, fmt.Sprintf("%.2f", r.qps()))
			errs += r.errors
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f | %.0f%% | %d | %s |\n",
			c.name, m.qps(), c.medianPerCPU(), m.tps(), m.median().Seconds(), m.p90().Seconds(), m.nodesCPU, m.cpuBusy*100, errs, strings.Join(all, ", "))
	}
	spread := 0.0
	for _, c := range configs {
		spread = max(spread, c.spread())
	}
	if len(configs[0].runs) > 1 {
		fmt.Fprintf(&b, "\nRounds of one configuration differed by up to %.0f%% in queries/s (other work on this shared machine); compare the ratios, measured side by side, rather than absolute figures.\n", spread*100)
	}
	fmt.Fprintf(&b, "\nRatios of median queries/s: %s / %s = **%.2f**; %s / %s = **%.2f**.\n",
		cluster.name, one.name, cluster.median().qps()/one.median().qps(),
		cluster.name, total.name, cluster.median().qps()/total.median().qps())
	fmt.Fprintf(&b, "Ratios of median queries per CPU-second: %s / %s = **%.2f**; %s / %s = **%.2f**.\n\n",
		cluster.name, one.name, cluster.medianPerCPU()/one.medianPerCPU(),
		cluster.name, total.name, cluster.medianPerCPU()/total.medianPerCPU())
	for _, c := range configs {
		for _, r := range c.runs {
			if r.firstErr != "" {
				fmt.Fprintf(&b, "First error, %s: `%s`\n\n", c.name, r.firstErr)
				break
			}
		}
	}
	fmt.Fprintf(&b, "**Read these ratios as overhead, not gain.** On this %d-CPU machine all %d nodes share the same cores: "+
		"their decoding threads compete for the same CPUs, and Weaviate's own work (replicated reads, Raft, memberlist) runs on them too. "+
		"The cluster cannot decode faster than the machine. Where it beats one node with the same slots per node, it is because it has %d times the slots in flight, "+
		"which fill CPU time that one node's %d slots leave idle between decode steps (compare the nodes' CPUs); "+
		"the fair comparison for the cluster's own cost is one node with the cluster's total slots (the second row).\n\n",
		ncpu, cluster.nodes, cluster.nodes, one.slots)
	fmt.Fprintf(&b, "On separate machines the expected ratio is about N (here %d), minus the load balancer's and replication's "+
		"overhead: a query's generation runs entirely on the node that received it (Weaviate computes the `generate` "+
		"additional property on the coordinating node after it has gathered the objects; see docs/cluster.md), so each "+
		"node generates with its own CPU (or GPU) and slots. That was not measured here.\n", cluster.nodes)
	return b.String()
}
