package localcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/config"
)

func TestClusterEnv(t *testing.T) {
	nodes := []*Node{
		{Name: "node1", Ports: Ports{HTTP: 8080, GRPC: 50051, Gossip: 7100, Raft: 8300}, DataDir: "/d/1"},
		{Name: "node2", Ports: Ports{HTTP: 8081, GRPC: 50052, Gossip: 7102, Raft: 8302}, DataDir: "/d/2"},
		{Name: "node3", Ports: Ports{HTTP: 8082, GRPC: 50053, Gossip: 7104, Raft: 8304}, DataDir: "/d/3"},
	}
	first := ClusterEnv(nodes, 0, nil)
	want := map[string]string{
		"CLUSTER_HOSTNAME":         "node1",
		"CLUSTER_ADVERTISE_ADDR":   "127.0.0.1",
		"CLUSTER_BIND_ADDR":        "127.0.0.1",
		"CLUSTER_IN_LOCALHOST":     "true",
		"PERSISTENCE_DATA_PATH":    "/d/1",
		"GRPC_PORT":                "50051",
		"CLUSTER_GOSSIP_BIND_PORT": "7100",
		"CLUSTER_DATA_BIND_PORT":   "7101",
		"RAFT_PORT":                "8300",
		"RAFT_INTERNAL_RPC_PORT":   "8301",
		"RAFT_JOIN":                "node1:8300,node2:8302,node3:8304",
		"RAFT_BOOTSTRAP_EXPECT":    "3",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("node1 %s = %q, want %q", k, first[k], v)
		}
	}
	if _, ok := first["CLUSTER_JOIN"]; ok {
		t.Errorf("node1 of a new cluster has CLUSTER_JOIN %q", first["CLUSTER_JOIN"])
	}
	third := ClusterEnv(nodes, 2, []string{"127.0.0.1:7100"})
	if third["CLUSTER_JOIN"] != "127.0.0.1:7100" || third["CLUSTER_HOSTNAME"] != "node3" || third["CLUSTER_DATA_BIND_PORT"] != "7105" {
		t.Errorf("node3 env: %v", third)
	}
}

// Every node is started with gossip bound to loopback, telemetry off and
// the API-based modules off, whatever the inherited environment and
// Config.Env say (issue 12, item 9).
func TestNodeEnvStaysOnLoopback(t *testing.T) {
	t.Setenv("DISABLE_TELEMETRY", "false")
	t.Setenv("CLUSTER_BIND_ADDR", "0.0.0.0")
	t.Setenv("API_BASED_MODULES_DISABLED", "")
	dir := t.TempDir()
	bin := filepath.Join(dir, "weaviate-asmr")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Bin: bin, Dir: dir, Nodes: 3,
		Env:   map[string]string{config.EnvConfig: "/x/asmr.yaml", "CLUSTER_BIND_ADDR": "0.0.0.0", "DISABLE_TELEMETRY": ""},
		Ports: []Ports{{8080, 50051, 7100, 8300}, {8081, 50052, 7102, 8302}, {8082, 50053, 7104, 8304}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CLUSTER_BIND_ADDR":          "127.0.0.1",
		"CLUSTER_ADVERTISE_ADDR":     "127.0.0.1",
		"DISABLE_TELEMETRY":          "true",
		"API_BASED_MODULES_DISABLED": "true",
		"ENABLE_MODULES":             "generative-asmr",
		config.EnvConfig:             "/x/asmr.yaml",
	}
	for i, n := range c.Nodes {
		var join []string
		if i > 0 {
			join = []string{"127.0.0.1:7100"}
		}
		own, environ := c.nodeEnv(i, join)
		got := map[string]string{}
		for _, kv := range environ {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := got[k]; dup {
				t.Errorf("%s: %s set twice", n.Name, k)
			}
			got[k] = v
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s=%q, want %q", n.Name, k, got[k], v)
			}
		}
		if own["CLUSTER_BIND_ADDR"] != "127.0.0.1" || own["CLUSTER_HOSTNAME"] != n.Name {
			t.Errorf("%s: own env %v", n.Name, own)
		}
	}
	for k, v := range LoopbackEnv() {
		if BaseEnv()[k] != v {
			t.Errorf("BaseEnv %s=%q, want %q", k, BaseEnv()[k], v)
		}
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ps, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		for _, port := range []int{p.HTTP, p.GRPC, p.Gossip, p.Gossip + 1, p.Raft, p.Raft + 1} {
			if seen[port] {
				t.Errorf("port %d used twice in %+v", port, ps)
			}
			seen[port] = true
		}
	}
	if !PortsFree(ps) {
		t.Errorf("ports %+v are not free after FreePorts released them", ps)
	}
}

func TestStateRoundTripAndAttach(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.json")
	s := State{Bin: "/bin/true", Dir: dir, Config: "/x/asmr.yaml", Nodes: []*Node{
		{Name: "node1", Ports: Ports{HTTP: 1, GRPC: 2, Gossip: 3, Raft: 5}, PID: 0},
		{Name: "node2", Ports: Ports{HTTP: 11, GRPC: 12, Gossip: 13, Raft: 15}, PID: 0},
	}}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != s.Config || len(got.Nodes) != 2 || got.Nodes[1].Ports != s.Nodes[1].Ports {
		t.Fatalf("round trip: %+v", got)
	}
	c, err := Attach(got, Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Nodes {
		if c.Running(i) {
			t.Errorf("node %d of a stopped cluster reported running", i)
		}
	}
	// Stopping a stopped cluster does nothing and keeps the ports.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	again, _ := LoadState(path)
	if again.Config != "/x/asmr.yaml" || again.Nodes[0].Ports != s.Nodes[0].Ports {
		t.Errorf("state after stop: %+v", again)
	}
}

// A live process is only "ours" when it runs the recorded binary with the
// recorded --port: a reused pid is never signalled.
func TestAliveChecksBinaryAndPort(t *testing.T) {
	sleep, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// The shell runs "sleep 10; true" (two commands, so it does not exec
	// sleep in its place) and keeps its argv: sh -c ... --port 4242.
	cmd := exec.Command(sleep, "-c", "sleep 10; true", "--port", "4242")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	pid := cmd.Process.Pid
	if !Alive(pid, sleep, 4242) {
		t.Errorf("Alive(%d, %s, 4242) = false", pid, sleep)
	}
	if Alive(pid, sleep, 4243) {
		t.Errorf("Alive with another port = true")
	}
	if Alive(pid, "/other/bin", 4242) {
		t.Errorf("Alive with another binary = true")
	}
	if err := StopPID(pid, sleep, 4243, time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatalf("StopPID signalled a process whose port did not match")
	default:
	}
	if err := StopPID(pid, sleep, 4242, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("StopPID returned but the process runs")
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	// A "server" that exits at once: Start fails with its log's tail
	// instead of waiting for readiness.
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-weaviate")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'fake: no cluster here' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Bin: bin, Dir: dir, Nodes: 2, ReadyTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fake: no cluster here") || !strings.Contains(err.Error(), "node1") {
		t.Fatalf("Start error = %v; want node1's exit with its log", err)
	}
}
