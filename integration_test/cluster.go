package integration_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/internal/localcluster"
)

// Cluster is a multi-node weaviate-asmr cluster on loopback, started by
// StartCluster through internal/localcluster (the code behind `asmr
// cluster up`), and stopped when the test ends. Its nodes are tied to the
// test process: the kernel kills them if it dies.
type Cluster struct {
	*localcluster.Cluster
	// Servers are request helpers for each node (GraphQL, CreateClass,
	// BatchObjects, Count, ...): only their URL, Ports, DataDir, LogPath and
	// Client are set; start, stop and kill nodes through the Cluster.
	Servers []*Server
}

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Nodes is the node count; default 3.
	Nodes int
	// Env is added to every node's environment (after DefaultEnv's
	// settings and the cluster's); an empty value removes a variable.
	Env Env
	// Dir holds the nodes' data and logs; "" makes a new t.TempDir().
	Dir string
	// ReadyTimeout bounds each wait for readiness; default 3 minutes.
	ReadyTimeout time.Duration
}

// StartCluster builds bin/weaviate-asmr if needed, starts opts.Nodes nodes
// on free loopback ports (node 1 first, the others joining it), and waits
// until every node is ready and lists every node HEALTHY in /v1/nodes.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	env := map[string]string{}
	for k, v := range DefaultEnv() {
		switch k {
		case "CLUSTER_HOSTNAME", "CLUSTER_ADVERTISE_ADDR", "CLUSTER_IN_LOCALHOST":
			continue // set per node by localcluster
		}
		env[k] = v
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	lc, err := localcluster.New(localcluster.Config{
		Bin: BinaryPath(t), Dir: opts.Dir, Nodes: opts.Nodes, Env: env,
		ReadyTimeout: opts.ReadyTimeout,
		Logf:         func(f string, a ...any) { t.Logf("cluster: "+f, a...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Cluster: lc}
	// Registered after the TempDir, so it runs before the folder is removed.
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range lc.Nodes {
				t.Logf("tail of %s:\n%s", n.LogPath, localcluster.LogTail(n.LogPath, 40))
			}
		}
		if err := lc.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := lc.Start(ctx); err != nil {
		t.Fatalf("start a %d-node cluster: %v", opts.Nodes, err)
	}
	for _, n := range lc.Nodes {
		c.Servers = append(c.Servers, &Server{
			URL:     n.URL(),
			Ports:   Ports{HTTP: n.Ports.HTTP, GRPC: n.Ports.GRPC, Gossip: n.Ports.Gossip, Raft: n.Ports.Raft},
			DataDir: n.DataDir,
			LogPath: n.LogPath,
			Client:  &http.Client{Timeout: 10 * time.Minute},
		})
	}
	return c
}

// Kill kills node i with SIGKILL (a crash) and waits until it is gone.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	pid := c.Nodes[i].PID
	if err := c.KillNode(i); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (pid %d)", c.Nodes[i].Name, pid)
}

// Restart starts node i again with the same ports, data folder and
// environment, and waits until it is ready and every node is HEALTHY.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := c.StartNode(ctx, i); err != nil {
		t.Fatal(err)
	}
}

// NodesJSON returns node i's /v1/nodes?output=verbose, raw, and the nodes
// it lists.
func (c *Cluster) NodesJSON(t testing.TB, i int) (string, []localcluster.NodeStatus) {
	t.Helper()
	st, raw, err := localcluster.Nodes(context.Background(), c.Nodes[i].URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw), st
}
