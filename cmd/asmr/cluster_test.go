package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
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
