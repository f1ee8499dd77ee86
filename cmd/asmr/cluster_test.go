package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestClusterSubcommands(t *testing.T) {
	ctx := context.Background()
	if err := runCluster(ctx, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("no subcommand: %v, want flag.ErrHelp", err)
	}
	if err := runCluster(ctx, []string{"sideways"}); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Errorf("unknown subcommand: %v", err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"down", "status"} {
		err := runCluster(ctx, []string{sub, "-dir", dir})
		if err == nil || !strings.Contains(err.Error(), "no cluster state") {
			t.Errorf("%s without a state file: %v", sub, err)
		}
	}
	if err := runCluster(ctx, []string{"up", "-n", "0", "-dir", dir}); err == nil {
		t.Errorf("up -n 0 succeeded")
	}
	if err := runCluster(ctx, []string{"up", "-dir", dir, "-config", dir + "/asmr.yaml", "-bin", dir + "/missing"}); err == nil {
		t.Errorf("up with a missing config and binary succeeded")
	}
}

func TestEnvList(t *testing.T) {
	e := envList{}
	for _, v := range []string{"A=1", "B=x=y", "C="} {
		if err := e.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if e["A"] != "1" || e["B"] != "x=y" || e["C"] != "" {
		t.Errorf("envList = %v", e)
	}
	if err := e.Set("novalue"); err == nil {
		t.Errorf("Set(novalue) succeeded")
	}
}

func TestClusterBenchReport(t *testing.T) {
	run := func(wall time.Duration, errs int) benchResult {
		return benchResult{queries: 10, wall: wall, tokens: 320, errors: errs, latencies: []time.Duration{time.Second, 2 * time.Second}, cpuBusy: 0.5, nodesCPU: 1.5}
	}
	configs := []*benchConfigCluster{
		{name: "1 node, 2 slots", nodes: 1, slots: 2, runs: []benchResult{run(10*time.Second, 0), run(12*time.Second, 0), run(9*time.Second, 0)}},
		{name: "1 node, 6 slots (the cluster's total)", nodes: 1, slots: 6, runs: []benchResult{run(8*time.Second, 0)}},
		{name: "3 nodes, 2 slots each", nodes: 3, slots: 2, runs: []benchResult{run(8*time.Second, 1)}},
	}
	configs[2].runs[0].firstErr = "generative-asmr: busy"
	r := clusterBenchReport(configs, "m", 1, 32, 3, 10, 6, 3)
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
