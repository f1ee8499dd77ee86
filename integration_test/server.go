package integration_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asmr-search/generative-asmr/internal/localcluster"
)

// Env is extra environment for the server. It overrides the harness's
// defaults (DefaultEnv) and the inherited environment; an empty value
// removes the variable.
type Env map[string]string

// DefaultEnv is the environment every server gets, before Options.Env:
// a single loopback node with generative-asmr and nothing that reaches
// outside the machine.
func DefaultEnv() Env {
	env := Env(localcluster.BaseEnv())
	// One server: synchronous indexing, so a vector search right after an
	// import sees every object (the cluster tests turn async indexing on,
	// see docs/cluster.md).
	delete(env, "ASYNC_INDEXING")
	env["CLUSTER_HOSTNAME"] = "node1"
	env["CLUSTER_ADVERTISE_ADDR"] = "127.0.0.1"
	env["CLUSTER_IN_LOCALHOST"] = "true"
	return env
}

// Ports are a server's loopback ports. Gossip+1 is the cluster data port
// and Raft+1 the Raft internal RPC port.
type Ports = localcluster.Ports

// Options configure Start. The zero value is what StartServer uses.
type Options struct {
	Env Env
	// Ports: nil picks free ones (and retries with others if one was taken
	// in the meantime).
	Ports *Ports
	// DataDir is PERSISTENCE_DATA_PATH; "" makes a new t.TempDir(). Env's
	// PERSISTENCE_DATA_PATH, if set, wins.
	DataDir string
	// Name names the log file; default "weaviate".
	Name string
	// ReadyTimeout bounds the wait for /v1/.well-known/ready; default 90 s.
	ReadyTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// default 15 s.
	StopTimeout time.Duration
}

// Server is a running (or stopped) weaviate-asmr process.
type Server struct {
	// URL is the base URL, http://127.0.0.1:<HTTP port>.
	URL     string
	Ports   Ports
	DataDir string
	// LogPath is the server's stdout and stderr, appended across restarts.
	LogPath string
	// ReadyIn is how long the last start took to become ready.
	ReadyIn time.Duration
	// Client is used by Raw and the JSON helpers on it (Do, GetJSON,
	// PostJSON); its timeout is 10 minutes (generation on a CPU is slow).
	// The helpers that the official client expresses use a client of
	// their own with the same timeout.
	Client *http.Client

	bin       string
	opts      Options
	env       []string
	ownsPorts bool

	mu        sync.Mutex
	proc      *proc // nil when stopped
	starts    int
	tailShown bool // a start error already carried the log's tail
}

// proc is one run of the server process. err is set before done closes.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartServer starts bin/weaviate-asmr (building it if needed) with the
// default environment plus env, waits until it is ready, and stops it when
// the test ends.
func StartServer(t testing.TB, env Env) *Server {
	t.Helper()
	return Start(t, Options{Env: env})
}

// Start is StartServer with every option.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Name == "" {
		o.Name = "weaviate"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 15 * time.Second
	}
	s := &Server{
		bin:     BinaryPath(t),
		opts:    o,
		Client:  &http.Client{Timeout: 10 * time.Minute},
		LogPath: filepath.Join(t.TempDir(), o.Name+".log"),
	}
	s.DataDir = o.DataDir
	if v := o.Env["PERSISTENCE_DATA_PATH"]; v != "" {
		s.DataDir = v
	}
	if s.DataDir == "" {
		s.DataDir = filepath.Join(t.TempDir(), "data")
	}
	// Registered after the TempDirs, so it runs before they are removed.
	t.Cleanup(func() {
		if _, err := os.Stat(s.LogPath); err == nil && t.Failed() && !s.tailShown {
			t.Logf("tail of %s:\n%s", s.LogPath, s.LogTail(80))
		}
		s.Stop(t)
	})

	if o.Ports != nil {
		s.Ports = *o.Ports
		if err := s.start(t); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s.ownsPorts = true
	for attempt := 1; ; attempt++ {
		p, err := FreePorts()
		if err != nil {
			t.Fatal(err)
		}
		s.Ports = p
		err = s.start(t)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("a port of %+v was taken before the server bound it; retrying with others", p)
	}
}

var errPortTaken = errors.New("address already in use")

// Restart stops the server and starts it again with the same ports, data
// folder and environment.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	if err := s.start(t); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) environ() []string {
	// A one-node cluster: its data folder, ports and Raft settings.
	node := &localcluster.Node{Name: "node1", Ports: s.Ports, DataDir: s.DataDir}
	return localcluster.Environ(DefaultEnv(), localcluster.ClusterEnv([]*localcluster.Node{node}, 0, nil), s.opts.Env)
}

func (s *Server) start(t testing.TB) error {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("server already running")
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return err
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.Ports.HTTP)
	s.env = s.environ()

	logf, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	s.starts++
	fmt.Fprintf(logf, "=== harness: start %d of %s, %s, ports %+v, data %s\n", s.starts, s.bin, s.URL, s.Ports, s.DataDir)

	cmd := exec.Command(s.bin, "--host", "127.0.0.1", "--port", strconv.Itoa(s.Ports.HTTP), "--scheme", "http")
	cmd.Env = s.env
	cmd.Dir = filepath.Dir(s.LogPath)
	cmd.Stdout = logf
	cmd.Stderr = logf
	setDeathSignal(cmd)
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	s.proc = p
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	if err := s.waitReady(p, begin); err != nil {
		s.killLocked()
		logTail := s.LogTail(60)
		s.tailShown = true
		err = fmt.Errorf("weaviate-asmr (pid %d, %s) %v; tail of %s:\n%s", cmd.Process.Pid, s.URL, err, s.LogPath, logTail)
		if s.ownsPorts && strings.Contains(logTail, "address already in use") {
			return fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return err
	}
	s.ReadyIn = time.Since(begin)
	t.Logf("weaviate-asmr pid %d ready at %s in %v (start %d)", cmd.Process.Pid, s.URL, s.ReadyIn.Round(10*time.Millisecond), s.starts)
	return nil
}

// waitReady polls /v1/.well-known/ready until it answers 200, the process
// exits, or the timeout passes.
func (s *Server) waitReady(p *proc, begin time.Time) error {
	deadline := begin.Add(s.opts.ReadyTimeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready (%v)", p.err)
		default:
		}
		if ok, _ := s.Ready(2 * time.Second); ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready at %s/v1/.well-known/ready after %v", s.URL, s.opts.ReadyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGTERM, waits up to Options.StopTimeout (15 s) for the process
// to exit, then sends SIGKILL, and waits. Stopping a stopped server does
// nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	pid := p.cmd.Process.Pid
	begin := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(s.opts.StopTimeout):
		t.Logf("weaviate-asmr pid %d still running %v after SIGTERM; sending SIGKILL", pid, s.opts.StopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	t.Logf("weaviate-asmr pid %d stopped in %v (%v)", pid, time.Since(begin).Round(10*time.Millisecond), p.err)
}

// killLocked kills the process at once and waits; s.mu is held.
func (s *Server) killLocked() {
	if p := s.proc; p != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
		s.proc = nil
	}
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// PID is the server's process id, or 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Environ is the environment of the last start, sorted.
func (s *Server) Environ() []string { return append([]string(nil), s.env...) }

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(b), n)
}

// FreePorts returns one server's loopback ports that are free now (see
// localcluster.FreePorts).
func FreePorts() (Ports, error) {
	ps, err := localcluster.FreePorts(1)
	if err != nil {
		return Ports{}, err
	}
	return ps[0], nil
}
