// Package localcluster starts, watches and stops a Weaviate cluster of
// weaviate-asmr nodes on one machine, all on loopback: each node with its
// own data folder, log file and free ports (HTTP, gRPC, gossip and gossip+1
// for cluster data, Raft and Raft+1 for its internal RPC). It is shared by
// `asmr cluster` (which detaches the nodes so that they outlive it) and the
// integration tests (which tie the nodes to the test process).
//
// The environment follows what was verified for Weaviate v1.35.2 (see
// docs/cluster.md): LoopbackEnv (gossip bound to 127.0.0.1, no telemetry,
// no API-based modules), CLUSTER_IN_LOCALHOST=true (without it a node dials every
// peer's RPC on its own port and Raft never forms), CLUSTER_ADVERTISE_ADDR=
// 127.0.0.1, RAFT_JOIN naming every node, RAFT_BOOTSTRAP_EXPECT = the node
// count, and node 1 started first, because a node whose CLUSTER_JOIN target
// is not up yet exits.
package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"

	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// Ports are one node's loopback ports. Gossip+1 is the cluster data port
// (CLUSTER_DATA_BIND_PORT) and Raft+1 the Raft internal RPC port
// (RAFT_INTERNAL_RPC_PORT).
type Ports struct {
	HTTP   int `json:"http"`
	GRPC   int `json:"grpc"`
	Gossip int `json:"gossip"`
	Raft   int `json:"raft"`
}

// Node is one weaviate-asmr process of a cluster.
type Node struct {
	Name    string `json:"name"`
	Ports   Ports  `json:"ports"`
	DataDir string `json:"dataDir"`
	LogPath string `json:"logPath"`
	// PID of the running process; 0 when stopped.
	PID int `json:"pid,omitempty"`
	// Env is the node's own environment (cluster settings and Config.Env);
	// the inherited environment and BaseEnv come before it.
	Env map[string]string `json:"env,omitempty"`

	proc *proc // set when this process started it
}

// URL is the node's HTTP base URL.
func (n *Node) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.Ports.HTTP) }

// GRPCAddr is the node's gRPC address.
func (n *Node) GRPCAddr() string { return fmt.Sprintf("127.0.0.1:%d", n.Ports.GRPC) }

// proc is one run of a node started by this process; err is set before
// done closes.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// LoopbackEnv is what keeps a node to this machine, as Weaviate v1.35.2
// reads it (usecases/config/environment.go):
//
//   - CLUSTER_BIND_ADDR=127.0.0.1: the gossip (memberlist) address; unset,
//     memberlist binds 0.0.0.0, every interface.
//   - DISABLE_TELEMETRY=true: otherwise Weaviate reports to its telemetry
//     host at start and every 24 hours.
//   - API_BASED_MODULES_DISABLED=true: otherwise about forty API-based
//     modules (text2vec-openai, generative-anthropic, ...) are enabled
//     besides ENABLE_MODULES, and a class without an explicit generative
//     config fails with "client not found, empty provider".
//
// Every node gets it last, after Config.Env, so nothing undoes it. (The
// HTTP API listens on --host 127.0.0.1 and Raft on the advertise address,
// 127.0.0.1; Weaviate v1.35.2 has no setting for the address of its gRPC
// port or its cluster data port, which listen on every interface.)
func LoopbackEnv() map[string]string {
	return map[string]string{
		"CLUSTER_BIND_ADDR":          "127.0.0.1",
		"DISABLE_TELEMETRY":          "true",
		"API_BASED_MODULES_DISABLED": "true",
	}
}

// BaseEnv is the environment every node gets before its cluster settings:
// generative-asmr enabled, anonymous access, LoopbackEnv, and nothing that
// reaches outside the machine or binds a fixed port (pprof's 6060,
// Prometheus' 2112), which several nodes on one machine would fight over.
func BaseEnv() map[string]string {
	env := map[string]string{
		"DEFAULT_VECTORIZER_MODULE":               "none",
		"ENABLE_MODULES":                          "generative-asmr",
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "true",
		"SENTRY_ENABLED":                          "false",
		"EXPERIMENTAL_OTEL_ENABLED":               "false",
		"GO_PROFILING_DISABLE":                    "true",
		"PROMETHEUS_MONITORING_ENABLED":           "false",
		// Raft's timeouts are multiplied by 5 by default; on loopback 1
		// forms the cluster in seconds instead of tens of seconds.
		"RAFT_TIMEOUTS_MULTIPLIER": "1",
		// With synchronous indexing, a node killed after an import can come
		// back with that import's vectors missing from its HNSW index
		// (docs/cluster.md); the asynchronous indexing queue is flushed with
		// each batch and replayed at restart.
		"ASYNC_INDEXING": "true",
		"LOG_LEVEL":      "info",
		"LOG_FORMAT":     "text",
	}
	maps.Copy(env, LoopbackEnv())
	return env
}

// Environ is this process's environment with layers applied in order, as
// a sorted KEY=VALUE list for exec.Cmd.Env. An empty value in a layer
// removes the variable.
func Environ(layers ...map[string]string) []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, layer := range layers {
		for k, v := range layer {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ClusterEnv is the cluster environment of nodes[i]. join names the
// gossip addresses it joins (CLUSTER_JOIN); none for the first node of a
// new cluster.
func ClusterEnv(nodes []*Node, i int, join []string) map[string]string {
	n := nodes[i]
	var raftJoin []string
	for _, o := range nodes {
		raftJoin = append(raftJoin, fmt.Sprintf("%s:%d", o.Name, o.Ports.Raft))
	}
	env := map[string]string{
		"CLUSTER_HOSTNAME":         n.Name,
		"CLUSTER_ADVERTISE_ADDR":   "127.0.0.1",
		"CLUSTER_BIND_ADDR":        "127.0.0.1",
		"CLUSTER_IN_LOCALHOST":     "true",
		"PERSISTENCE_DATA_PATH":    n.DataDir,
		"GRPC_PORT":                strconv.Itoa(n.Ports.GRPC),
		"CLUSTER_GOSSIP_BIND_PORT": strconv.Itoa(n.Ports.Gossip),
		"CLUSTER_DATA_BIND_PORT":   strconv.Itoa(n.Ports.Gossip + 1),
		"RAFT_PORT":                strconv.Itoa(n.Ports.Raft),
		"RAFT_INTERNAL_RPC_PORT":   strconv.Itoa(n.Ports.Raft + 1),
		"RAFT_JOIN":                strings.Join(raftJoin, ","),
		"RAFT_BOOTSTRAP_EXPECT":    strconv.Itoa(len(nodes)),
	}
	if len(join) > 0 {
		env["CLUSTER_JOIN"] = strings.Join(join, ",")
	}
	return env
}

// Config configures a cluster.
type Config struct {
	// Bin is the weaviate-asmr binary.
	Bin string
	// Dir holds node K's data in Dir/nodeK/data and its log in
	// Dir/nodeK.log (appended across starts).
	Dir string
	// Nodes is the node count (1 makes a one-node cluster).
	Nodes int
	// Env is added to every node's environment after BaseEnv and the
	// cluster settings (ASMR_CONFIG, for one); an empty value removes a
	// variable.
	Env map[string]string
	// Ports: one entry per node to reuse; nil picks free ones (and picks
	// others if one was taken before the node bound it).
	Ports []Ports
	// Detach starts each node in its own session (setsid), so that it
	// outlives this process and a Ctrl-C in its terminal. Otherwise (tests)
	// the kernel kills the nodes when this process dies.
	Detach bool
	// ReadyTimeout bounds each wait for readiness; default 3 minutes.
	ReadyTimeout time.Duration
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL;
	// default 15 s.
	StopTimeout time.Duration
	// StatePath, if set, is rewritten (see State) whenever a node starts
	// or stops, so the nodes can be stopped from another process even if
	// this one dies.
	StatePath string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Cluster is a set of nodes started (or loaded) by this process.
type Cluster struct {
	cfg   Config
	Nodes []*Node

	mu sync.Mutex // guards Nodes' PID and proc, and the state file
}

// withDefaults fills in the defaults of New and Attach: ReadyTimeout 3
// minutes, StopTimeout 15 s, a Logf that drops everything.
func (cfg Config) withDefaults() Config {
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 3 * time.Minute
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 15 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return cfg
}

// New lays out a cluster: names, folders and ports. It starts nothing.
func New(cfg Config) (*Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("node count %d: want at least 1", cfg.Nodes)
	}
	if cfg.Bin == "" || cfg.Dir == "" {
		return nil, errors.New("Bin and Dir are required")
	}
	cfg = cfg.withDefaults()
	var err error
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return nil, err
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Bin); err != nil {
		return nil, fmt.Errorf("weaviate-asmr binary: %w (build it with `make build`)", err)
	}
	ports := cfg.Ports
	if ports == nil {
		if ports, err = FreePorts(cfg.Nodes); err != nil {
			return nil, err
		}
	} else if len(ports) != cfg.Nodes {
		return nil, fmt.Errorf("%d port sets for %d nodes", len(ports), cfg.Nodes)
	}
	c := &Cluster{cfg: cfg}
	for i := 0; i < cfg.Nodes; i++ {
		name := fmt.Sprintf("node%d", i+1)
		c.Nodes = append(c.Nodes, &Node{
			Name:    name,
			Ports:   ports[i],
			DataDir: filepath.Join(cfg.Dir, name, "data"),
			LogPath: filepath.Join(cfg.Dir, name+".log"),
		})
	}
	return c, nil
}

// Config returns the cluster's configuration, defaults filled in.
func (c *Cluster) Config() Config { return c.cfg }

var errPortTaken = errors.New("a port was taken before the node bound it")

// Start starts every node, node 1 first (the others join its gossip port
// once it listens), waits until each answers /v1/.well-known/ready and
// lists every node HEALTHY in /v1/nodes. On failure it stops what it
// started. With free ports picked by New, it retries twice with other
// ports when a port was taken in between.
func (c *Cluster) Start(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := c.start(ctx)
		if err == nil {
			return nil
		}
		c.Stop()
		if !errors.Is(err, errPortTaken) || c.cfg.Ports != nil || attempt == 3 {
			return err
		}
		ports, perr := FreePorts(len(c.Nodes))
		if perr != nil {
			return perr
		}
		c.cfg.Logf("%v; retrying with other ports", err)
		for i, n := range c.Nodes {
			n.Ports = ports[i]
		}
	}
}

func (c *Cluster) start(ctx context.Context) error {
	begin := time.Now()
	first := c.Nodes[0]
	if err := c.launch(0, nil); err != nil {
		return err
	}
	if len(c.Nodes) > 1 {
		// The others join node 1's gossip port: wait until it listens.
		if err := c.waitListening(ctx, first, first.Ports.Gossip); err != nil {
			return err
		}
		join := []string{fmt.Sprintf("127.0.0.1:%d", first.Ports.Gossip)}
		for i := 1; i < len(c.Nodes); i++ {
			if err := c.launch(i, join); err != nil {
				return err
			}
		}
	}
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.WaitReady(ctx, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := c.WaitHealthy(ctx, len(c.Nodes)); err != nil {
		return err
	}
	c.cfg.Logf("%d node(s) ready and healthy in %v", len(c.Nodes), time.Since(begin).Round(100*time.Millisecond))
	return nil
}

// StartNode starts node i again (same ports, data and log) after a stop or
// kill, joining the nodes that are running, and waits until it is ready
// and every node is HEALTHY.
func (c *Cluster) StartNode(ctx context.Context, i int) error {
	var join []string
	for j, o := range c.Nodes {
		if j != i {
			join = append(join, fmt.Sprintf("127.0.0.1:%d", o.Ports.Gossip))
		}
	}
	begin := time.Now()
	if err := c.launch(i, join); err != nil {
		return err
	}
	if err := c.WaitReady(ctx, i); err != nil {
		return err
	}
	if _, err := c.WaitHealthy(ctx, len(c.Nodes)); err != nil {
		return err
	}
	c.cfg.Logf("%s restarted and healthy in %v", c.Nodes[i].Name, time.Since(begin).Round(100*time.Millisecond))
	return nil
}

// nodeEnv is node i's own environment (its cluster settings, Config.Env,
// then LoopbackEnv) and the whole environment it is started with: the
// inherited one, BaseEnv, then its own.
func (c *Cluster) nodeEnv(i int, join []string) (map[string]string, []string) {
	env := ClusterEnv(c.Nodes, i, join)
	maps.Copy(env, c.cfg.Env)
	maps.Copy(env, LoopbackEnv())
	return env, Environ(BaseEnv(), env)
}

// launch starts node i's process without waiting.
func (c *Cluster) launch(i int, join []string) error {
	n := c.Nodes[i]
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.proc != nil {
		select {
		case <-n.proc.done:
		default:
			return fmt.Errorf("%s is already running (pid %d)", n.Name, n.PID)
		}
	}
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		return err
	}
	var environ []string
	n.Env, environ = c.nodeEnv(i, join)

	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "=== localcluster: %s start at %s, %s, ports %+v, data %s, join %v\n",
		n.Name, time.Now().Format(time.RFC3339), n.URL(), n.Ports, n.DataDir, join)

	cmd := exec.Command(c.cfg.Bin, "--host", "127.0.0.1", "--port", strconv.Itoa(n.Ports.HTTP), "--scheme", "http")
	cmd.Env = environ
	cmd.Dir = filepath.Dir(n.DataDir)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(c.cfg.Detach)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.proc, n.PID = p, cmd.Process.Pid
	c.cfg.Logf("%s: pid %d, http %d, grpc %d, gossip %d, raft %d, log %s",
		n.Name, n.PID, n.Ports.HTTP, n.Ports.GRPC, n.Ports.Gossip, n.Ports.Raft, n.LogPath)
	c.saveLocked()
	return nil
}

// exited returns the node's exit as an error (with the log's tail) if it
// has exited, or nil while it runs.
func (c *Cluster) exited(n *Node) error {
	c.mu.Lock()
	p := n.proc
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
	default:
		return nil
	}
	logTail := LogTail(n.LogPath, 40)
	err := fmt.Errorf("%s (pid %d) exited (%v); tail of %s:\n%s", n.Name, p.cmd.Process.Pid, p.err, n.LogPath, logTail)
	if strings.Contains(lastStart(logTail), "address already in use") {
		return fmt.Errorf("%w: %v", errPortTaken, err)
	}
	return err
}

// lastStart is the part of a log after its last localcluster start line.
func lastStart(log string) string {
	if i := strings.LastIndex(log, "=== localcluster:"); i >= 0 {
		return log[i:]
	}
	return log
}

func (c *Cluster) waitListening(ctx context.Context, n *Node, port int) error {
	deadline := time.Now().Add(c.cfg.ReadyTimeout)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		if err := c.exited(n); err != nil {
			return err
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing listens on %s after %v; see %s", n.Name, addr, c.cfg.ReadyTimeout, n.LogPath)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// WaitReady waits until node i answers /v1/.well-known/ready with 200.
func (c *Cluster) WaitReady(ctx context.Context, i int) error {
	n := c.Nodes[i]
	deadline := time.Now().Add(c.cfg.ReadyTimeout)
	for {
		if err := c.exited(n); err != nil {
			return err
		}
		if Ready(ctx, n.URL()) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not ready at %s after %v; tail of %s:\n%s", n.Name, n.URL(), c.cfg.ReadyTimeout, n.LogPath, LogTail(n.LogPath, 40))
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// WaitHealthy waits until every running node's /v1/nodes lists exactly
// want nodes, all HEALTHY, and returns the last listing.
func (c *Cluster) WaitHealthy(ctx context.Context, want int) ([]NodeStatus, error) {
	deadline := time.Now().Add(c.cfg.ReadyTimeout)
	for {
		var last []NodeStatus
		ok, why := true, ""
		for i, n := range c.Nodes {
			if !c.Running(i) {
				continue
			}
			st, _, err := Nodes(ctx, n.URL(), false)
			if err != nil {
				ok, why = false, fmt.Sprintf("%s: %v", n.Name, err)
				break
			}
			if h := Healthy(st); h != want || len(st) != want {
				ok, why = false, fmt.Sprintf("%s lists %d nodes, %d healthy (%v)", n.Name, len(st), h, st)
				break
			}
			last = st
		}
		if ok {
			return last, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cluster not healthy after %v: %s", c.cfg.ReadyTimeout, why)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// Running reports whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	n := c.Nodes[i]
	c.mu.Lock()
	p, pid := n.proc, n.PID
	c.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return pid != 0 && Alive(pid, c.cfg.Bin, n.Ports.HTTP)
}

// KillNode kills node i with SIGKILL, as a crash would, and waits until it
// is gone.
func (c *Cluster) KillNode(i int) error {
	return c.stopNode(i, 0)
}

// StopNode stops node i: SIGTERM, then SIGKILL after Config.StopTimeout.
func (c *Cluster) StopNode(i int) error {
	return c.stopNode(i, c.cfg.StopTimeout)
}

func (c *Cluster) stopNode(i int, grace time.Duration) error {
	n := c.Nodes[i]
	c.mu.Lock()
	p, pid := n.proc, n.PID
	c.mu.Unlock()
	if pid == 0 {
		return nil
	}
	var err error
	if p != nil {
		err = stopChild(p, grace)
	} else {
		err = StopPID(pid, c.cfg.Bin, n.Ports.HTTP, grace)
	}
	c.mu.Lock()
	n.proc, n.PID = nil, 0
	c.saveLocked()
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s (pid %d): %w", n.Name, pid, err)
	}
	c.cfg.Logf("%s (pid %d) stopped", n.Name, pid)
	return nil
}

// Stop stops every node at once (SIGTERM, then SIGKILL after
// Config.StopTimeout).
func (c *Cluster) Stop() error {
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.StopNode(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func stopChild(p *proc, grace time.Duration) error {
	sig := syscall.SIGKILL
	if grace > 0 {
		sig = syscall.SIGTERM
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if grace > 0 {
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
		}
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("still running 30 s after SIGKILL")
	}
}

// StopPID stops a node this process did not start: it checks that pid is
// still that node (bin listening on httpPort, so a reused pid is left
// alone), sends SIGTERM, waits up to grace, then sends SIGKILL.
func StopPID(pid int, bin string, httpPort int, grace time.Duration) error {
	if !Alive(pid, bin, httpPort) {
		return nil
	}
	if grace > 0 {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		if waitGone(pid, bin, httpPort, grace) {
			return nil
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if !waitGone(pid, bin, httpPort, 30*time.Second) {
		return errors.New("still running 30 s after SIGKILL")
	}
	return nil
}

func waitGone(pid int, bin string, httpPort int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid, bin, httpPort) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// Alive reports whether pid is a live (not zombie) process running bin
// with --port httpPort. Without /proc (not Linux) it only checks that pid
// exists.
func Alive(pid int, bin string, httpPort int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !procFS()
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 0 || (bin != "" && args[0] != bin) {
		return false
	}
	for j := 1; j+1 < len(args); j++ {
		if args[j] == "--port" && args[j+1] == strconv.Itoa(httpPort) {
			return true
		}
	}
	return false
}

func procFS() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// Ready reports whether url answers /v1/.well-known/ready with 200 within
// 2 seconds.
func Ready(ctx context.Context, url string) bool {
	c, err := client(url)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ok, err := c.Misc().ReadyChecker().Do(ctx)
	return err == nil && ok
}

// NodeStatus is one entry of /v1/nodes.
type NodeStatus struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Version string `json:"version"`
	Stats   *struct {
		ShardCount  int   `json:"shardCount"`
		ObjectCount int64 `json:"objectCount"`
	} `json:"stats,omitempty"`
}

func (s NodeStatus) String() string { return s.Name + ":" + s.Status }

// Nodes returns url's /v1/nodes (output=verbose when verbose), decoded,
// and the whole answer as JSON (for logs), within 10 seconds.
func Nodes(ctx context.Context, url string, verbose bool) ([]NodeStatus, []byte, error) {
	c, err := client(url)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	g := c.Cluster().NodesStatusGetter()
	if verbose {
		g = g.WithOutput("verbose")
	}
	resp, err := g.Do(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s/v1/nodes: %w", url, weaviatehttp.Error(err))
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s/v1/nodes: %w", url, err)
	}
	var st []NodeStatus
	if err := weaviatehttp.Decode(resp.Nodes, &st); err != nil {
		return nil, raw, fmt.Errorf("GET %s/v1/nodes: %w", url, err)
	}
	return st, raw, nil
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*weaviate.Client{}
)

// client returns the Weaviate client of the node at url, made on first
// use: readiness and /v1/nodes are polled often, and a new client asks the
// server for its version first.
func client(url string) (*weaviate.Client, error) {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c := clients[url]; c != nil {
		return c, nil
	}
	c, err := weaviatehttp.New(url, nil, 10*time.Second)
	if err != nil {
		return nil, err
	}
	clients[url] = c
	return c, nil
}

// Healthy counts the HEALTHY entries of a /v1/nodes listing.
func Healthy(st []NodeStatus) int {
	h := 0
	for _, s := range st {
		if s.Status == "HEALTHY" {
			h++
		}
	}
	return h
}

// LogTail returns the last n lines of a log file.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
