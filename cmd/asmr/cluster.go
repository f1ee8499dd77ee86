package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/internal/opsfile"
)

// The cluster command runs several weaviate-asmr nodes as one Weaviate
// cluster on this machine (loopback ports), for trying replication and
// load spreading locally; docs/cluster.md describes a real deployment.
const clusterUsage = `usage: asmr cluster <up|down|status|bench> [flags]

  up      start N weaviate-asmr nodes as one cluster on loopback; they keep
          running after this command returns (each in its own session)
  down    stop the nodes of a cluster started by up (SIGTERM, then SIGKILL)
  status  show the nodes' processes, readiness and /v1/nodes
  bench   measure grouped-generate throughput on 1 node and on N nodes

Run 'asmr cluster <sub> -h' for its flags.
`

// stateFile is the state file's name inside the cluster folder.
const stateFile = "cluster.json"

func runCluster(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(os.Stderr, clusterUsage)
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "up":
		return clusterUp(ctx, rest)
	case "down":
		return clusterDown(ctx, rest)
	case "status":
		return clusterStatus(ctx, rest)
	case "bench":
		return clusterBench(ctx, rest)
	case "help":
		fmt.Fprint(os.Stderr, clusterUsage)
		return nil
	}
	fmt.Fprint(os.Stderr, clusterUsage)
	return fmt.Errorf("unknown subcommand %q", sub)
}

func clusterFlags(sub, args string) *flag.FlagSet {
	f := flag.NewFlagSet("asmr cluster "+sub, flag.ContinueOnError)
	f.Usage = func() {
		fmt.Fprintf(f.Output(), "usage: asmr cluster %s %s\n\nflags:\n", sub, args)
		f.PrintDefaults()
	}
	return f
}

// envList is a repeatable KEY=VALUE flag.
type envList map[string]string

func (e envList) String() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k+"="+e[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (e envList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e[k] = val
	return nil
}

func clusterUp(ctx context.Context, args []string) error {
	fset := clusterFlags("up", "[-n 3] [-dir .cache/cluster] [-config ops.yaml] [-bin bin/weaviate-asmr]")
	n := fset.Int("n", 3, "number of nodes")
	dir := fset.String("dir", ".cache/cluster", "cluster folder: node data, logs, state file ("+stateFile+")")
	cfgPath := fset.String("config", "", "ops YAML ("+config.EnvConfig+") of every node; empty = the embedded default of `asmr run` (Gemma 3 270M, steered), written into -dir")
	defaultModel := fset.String("model", ".cache/models/gemma-3-270m-q4_k_m.gguf", "the GGUF of the embedded default, without -config (make model fetches it)")
	bin := fset.String("bin", "bin/weaviate-asmr", "weaviate-asmr binary")
	threads := fset.Int("threads", 0, config.EnvThreads+" of every node: decoding threads per slot (0 = the config's; with the default config, CPUs / nodes)")
	slots := fset.Int("slots", 0, config.EnvSlots+" of every node: generations at once per node (0 = the config's)")
	timeout := fset.Duration("timeout", 5*time.Minute, "how long to wait for every node to be ready")
	env := envList{}
	fset.Var(env, "env", "extra KEY=VALUE for every node (repeatable), e.g. -env LOG_LEVEL=debug")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-n %d: want at least 1", *n)
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	statePath := filepath.Join(absDir, stateFile)

	// A cluster of this folder that still runs is stopped first, by down;
	// the same nodes again keep their ports, which their Raft logs know.
	ports, stale, err := localcluster.ReusePorts(statePath, *n)
	if err != nil {
		return fmt.Errorf("%w: run `asmr cluster down -dir %s` first", err, *dir)
	}
	if stale {
		fmt.Fprintf(os.Stderr, "note: the ports of %s cannot be reused (node count changed or a port is taken); if the nodes do not form a cluster, remove %s and start again\n", statePath, absDir)
	}

	if *cfgPath == "" {
		// The embedded default of `asmr run`: Gemma 3 270M and its shipped
		// profile.
		if err := os.MkdirAll(absDir, 0o755); err != nil {
			return err
		}
		d, err := opsfile.EmbeddedDefault(absDir, *defaultModel, "Written by asmr cluster up: the embedded default of asmr run.")
		if err != nil {
			return err
		}
		fmt.Printf("embedded default: %s\n", d)
		*cfgPath = d.Ops
		if *threads <= 0 {
			// The nodes share this machine's CPUs.
			*threads = max(1, runtime.NumCPU() / *n)
		}
	}
	if *threads > 0 {
		env[config.EnvThreads] = fmt.Sprint(*threads)
	}
	if *slots > 0 {
		env[config.EnvSlots] = fmt.Sprint(*slots)
	}
	if *cfgPath, err = filepath.Abs(*cfgPath); err != nil {
		return err
	}
	if _, err := os.Stat(*cfgPath); err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	env[config.EnvConfig] = *cfgPath

	c, err := localcluster.New(localcluster.Config{
		Bin: *bin, Dir: absDir, Nodes: *n, Env: env, Ports: ports,
		Detach: true, ReadyTimeout: *timeout, StatePath: statePath,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err // Start stopped what it started
	}
	st, _, err := localcluster.Nodes(ctx, c.Nodes[0].URL(), true)
	if err != nil {
		return err
	}
	fmt.Println()
	printNodes(c.Nodes, st)
	fmt.Printf("\nstate: %s\nstop:  asmr cluster down -dir %s\n", statePath, *dir)
	return nil
}

func printNodes(nodes []*localcluster.Node, st []localcluster.NodeStatus) {
	byName := map[string]localcluster.NodeStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tpid\tHTTP\tgRPC\tgossip/data\traft/rpc\tstatus\tobjects\tlog")
	for _, n := range nodes {
		pid, status, objects := "-", "-", "-"
		if n.PID != 0 {
			pid = fmt.Sprint(n.PID)
		}
		if s, ok := byName[n.Name]; ok {
			status = s.Status
			if s.Stats != nil {
				objects = fmt.Sprint(s.Stats.ObjectCount)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\t%s\t%s\n", n.Name, pid, n.URL(), n.GRPCAddr(),
			n.Ports.Gossip, n.Ports.Gossip+1, n.Ports.Raft, n.Ports.Raft+1, status, objects, n.LogPath)
	}
	tw.Flush()
}

// loadState reads the state file of the cluster folder dir, saying so
// when up has not written one.
func loadState(statePath, dir string) (*localcluster.State, error) {
	s, err := localcluster.LoadState(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no cluster state in %s (was `asmr cluster up -dir %s` run?)", dir, dir)
	}
	return s, err
}

func clusterDown(ctx context.Context, args []string) error {
	fset := clusterFlags("down", "[-dir .cache/cluster]")
	dir := fset.String("dir", ".cache/cluster", "cluster folder given to up")
	grace := fset.Duration("timeout", 15*time.Second, "wait after SIGTERM before SIGKILL")
	if err := fset.Parse(args); err != nil {
		return err
	}
	statePath := filepath.Join(*dir, stateFile)
	s, err := loadState(statePath, *dir)
	if err != nil {
		return err
	}
	c, err := localcluster.Attach(s, localcluster.Config{
		StopTimeout: *grace, StatePath: statePath,
		Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	running := 0
	for i := range c.Nodes {
		if c.Running(i) {
			running++
		}
	}
	if running == 0 {
		fmt.Println("no node of this cluster is running")
	}
	// Stop clears the PIDs in the state file and keeps the ports, so a
	// later up starts the same nodes on the same ports.
	return c.Stop()
}

func clusterStatus(ctx context.Context, args []string) error {
	fset := clusterFlags("status", "[-dir .cache/cluster]")
	dir := fset.String("dir", ".cache/cluster", "cluster folder given to up")
	if err := fset.Parse(args); err != nil {
		return err
	}
	statePath := filepath.Join(*dir, stateFile)
	s, err := loadState(statePath, *dir)
	if err != nil {
		return err
	}
	c, err := localcluster.Attach(s, localcluster.Config{})
	if err != nil {
		return err
	}
	fmt.Printf("cluster %s (%d nodes), config %s, binary %s\n", s.Dir, len(s.Nodes), s.Config, s.Bin)
	var st []localcluster.NodeStatus
	var stErr error
	up := 0
	for i, n := range c.Nodes {
		if !c.Running(i) {
			n.PID = 0
			continue
		}
		up++
		ready := localcluster.Ready(ctx, n.URL())
		fmt.Printf("  %s pid %d: ready=%v\n", n.Name, n.PID, ready)
		if st == nil {
			st, _, stErr = localcluster.Nodes(ctx, n.URL(), true)
		}
	}
	fmt.Println()
	printNodes(c.Nodes, st)
	switch {
	case up == 0:
		fmt.Println("\nstopped (start with: asmr cluster up -dir " + *dir + ")")
	case stErr != nil:
		return stErr
	case localcluster.Healthy(st) != len(c.Nodes):
		return fmt.Errorf("%d of %d nodes HEALTHY", localcluster.Healthy(st), len(c.Nodes))
	}
	return nil
}
