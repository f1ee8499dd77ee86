package localcluster

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// Ready and Nodes go through the official client: a fake node answers
// readiness and /v1/nodes.
func TestReadyAndNodes(t *testing.T) {
	ready := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/.well-known/ready":
			if !ready {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/v1/nodes":
			if r.URL.Query().Get("output") != "verbose" {
				http.Error(w, "want verbose", http.StatusBadRequest)
				return
			}
			io.WriteString(w, `{"nodes":[{"name":"node1","status":"HEALTHY","version":"1.35.2","stats":{"shardCount":1,"objectCount":12}},{"name":"node2","status":"UNHEALTHY"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if Ready(ctx, srv.URL) {
		t.Error("Ready with a 503")
	}
	ready = true
	if !Ready(ctx, srv.URL) {
		t.Error("not Ready with a 200")
	}
	st, raw, err := Nodes(ctx, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Stats == nil || st[0].Stats.ObjectCount != 12 || Healthy(st) != 1 || st[1].String() != "node2:UNHEALTHY" {
		t.Errorf("nodes %v", st)
	}
	if !strings.Contains(string(raw), `"objectCount":12`) {
		t.Errorf("raw %s", raw)
	}
	if _, _, err := Nodes(ctx, srv.URL, false); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("Nodes with an HTTP error: %v", err)
	}
	if Ready(ctx, "http://127.0.0.1:1") {
		t.Error("Ready with nothing listening")
	}
}

func TestReusePorts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.json")
	if ps, stale, err := ReusePorts(path, 2); ps != nil || stale || err != nil {
		t.Errorf("no state file: %v %v %v", ps, stale, err)
	}
	free, err := FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	s := State{Bin: "/no/such/bin", Dir: dir, Nodes: []*Node{{Name: "node1", Ports: free[0], PID: 1}, {Name: "node2", Ports: free[1]}}}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	// pid 1 does not run /no/such/bin: the nodes are stopped.
	ps, stale, err := ReusePorts(path, 2)
	if err != nil || stale || len(ps) != 2 || ps[0] != free[0] || ps[1] != free[1] {
		t.Errorf("same node count: %v %v %v", ps, stale, err)
	}
	if ps, stale, err := ReusePorts(path, 3); ps != nil || !stale || err != nil {
		t.Errorf("another node count: %v %v %v", ps, stale, err)
	}
}
