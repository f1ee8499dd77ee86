package localcluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/asmr-search/generative-asmr/config"
)

// State is what a state file records: enough to find, check and stop the
// nodes from another process (`asmr cluster status` / `down`), and to start
// them again on the same ports.
type State struct {
	Bin     string    `json:"bin"`
	Dir     string    `json:"dir"`
	Config  string    `json:"config,omitempty"` // ASMR_CONFIG of every node
	Updated time.Time `json:"updated"`
	Nodes   []*Node   `json:"nodes"`
}

// State returns the cluster's current state.
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

func (c *Cluster) stateLocked() State {
	s := State{Bin: c.cfg.Bin, Dir: c.cfg.Dir, Config: c.cfg.Env[config.EnvConfig], Updated: time.Now().UTC()}
	for _, n := range c.Nodes {
		cp := *n
		cp.proc = nil
		s.Nodes = append(s.Nodes, &cp)
	}
	return s
}

func (c *Cluster) saveLocked() {
	if c.cfg.StatePath == "" {
		return
	}
	if err := c.stateLocked().Save(c.cfg.StatePath); err != nil {
		c.cfg.Logf("write state %s: %v", c.cfg.StatePath, err)
	}
}

// Save writes the state as JSON, atomically.
func (s State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadState reads a state file.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Ports returns the nodes' ports, in order.
func (s *State) Ports() []Ports {
	var p []Ports
	for _, n := range s.Nodes {
		p = append(p, n.Ports)
	}
	return p
}

// Attach makes a Cluster of the nodes a state file describes, so that they
// can be checked and stopped (their PIDs are verified before any signal).
func Attach(s *State, cfg Config) (*Cluster, error) {
	cfg.Bin, cfg.Dir, cfg.Nodes, cfg.Ports = s.Bin, s.Dir, len(s.Nodes), s.Ports()
	if cfg.Env == nil && s.Config != "" {
		cfg.Env = map[string]string{config.EnvConfig: s.Config}
	}
	cfg = cfg.withDefaults()
	c := &Cluster{cfg: cfg}
	for _, n := range s.Nodes {
		cp := *n
		c.Nodes = append(c.Nodes, &cp)
	}
	return c, nil
}

// ReusePorts reads the state file at path of an earlier cluster in the
// same folder and returns its ports when a new cluster of n nodes can take
// them again, which keeps the nodes' Raft logs valid. It fails, naming the
// node, while a node of that cluster still runs. stale reports an earlier
// cluster whose ports cannot be reused (another node count, or a port now
// taken). A missing or unreadable state file is no earlier cluster.
func ReusePorts(path string, n int) (ports []Ports, stale bool, err error) {
	old, err := LoadState(path)
	if err != nil {
		return nil, false, nil
	}
	for _, nd := range old.Nodes {
		if nd.PID != 0 && Alive(nd.PID, old.Bin, nd.Ports.HTTP) {
			return nil, false, fmt.Errorf("%s is running (pid %d) from %s", nd.Name, nd.PID, path)
		}
	}
	if len(old.Nodes) == n && PortsFree(old.Ports()) {
		return old.Ports(), false, nil
	}
	return nil, len(old.Nodes) > 0, nil
}
