//go:build e2e

package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/grpc"
)

// testGoClient runs generate through the Go client
// (github.com/weaviate/weaviate-go-client/v5, GraphQL over HTTP): its
// builder's singleResult and groupedResult must give the same greedy
// answers as the raw GraphQL of the same prompts (single, grouped: the
// answers of the singleResult and groupedResult subtests), and its raw
// GraphQL carries asmr options.
func testGoClient(t *testing.T, s *Server, single, grouped []genObject) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := weaviate.NewClient(weaviate.Config{
		Host:           fmt.Sprintf("127.0.0.1:%d", s.Ports.HTTP),
		Scheme:         "http",
		GrpcConfig:     &grpc.Config{Host: fmt.Sprintf("127.0.0.1:%d", s.Ports.GRPC)},
		Timeout:        2 * time.Minute,
		StartupTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("weaviate.NewClient: %v", err)
	}

	gs := graphql.NewGenerativeSearch().
		SingleResult(singlePrompt).
		GroupedResult(groupedTask, "title", "text")
	res, err := c.GraphQL().Get().
		WithClassName("Passage").
		WithFields(graphql.Field{Name: "title"}).
		WithBM25(c.GraphQL().Bm25ArgBuilder().WithQuery("Bell")).
		WithGenerativeSearch(gs).
		WithLimit(3).
		Do(ctx)
	if err != nil {
		t.Fatalf("Go client generate: %v", err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("Go client generate: GraphQL errors %v", res.Errors[0])
	}
	rows, _ := res.Data["Get"].(map[string]any)["Passage"].([]any)
	if len(rows) != 3 {
		t.Fatalf("Go client: %d objects, want 3: %v", len(rows), res.Data)
	}
	for i, row := range rows {
		gen, _ := Lookup(row, "_additional", "generate").(map[string]any)
		title, _ := Lookup(row, "title").(string)
		if e, _ := gen["error"].(string); e != "" {
			t.Errorf("Go client %s: error %q", title, e)
			continue
		}
		answer, _ := gen["singleResult"].(string)
		if answer == "" {
			t.Errorf("Go client %s: no singleResult in %v", title, gen)
		}
		if single != nil && (single[i].Title != title || single[i].single() != answer) {
			t.Errorf("Go client object %d: %s %q; raw GraphQL gave %s %q", i, title, answer, single[i].Title, single[i].single())
		}
		if i == 0 {
			g, _ := gen["groupedResult"].(string)
			if g == "" {
				t.Errorf("Go client: no groupedResult in %v", gen)
			}
			if grouped != nil && g != grouped[0].grouped() {
				t.Errorf("Go client groupedResult %q; raw GraphQL gave %q", g, grouped[0].grouped())
			}
		}
	}

	// The builder has no asmr argument; the client's raw GraphQL carries
	// per-query options and reads the metadata.
	raw, err := c.GraphQL().Raw().WithQuery(genQuery("Passage", searchArgs, singleArgs(`alphaCL: 10, topK: 2, maxTokens: 6`))).Do(ctx)
	if err != nil {
		t.Fatalf("Go client raw GraphQL: %v", err)
	}
	if len(raw.Errors) > 0 {
		t.Fatalf("Go client raw GraphQL: errors %v", raw.Errors[0])
	}
	data, _ := json.Marshal(raw.Data)
	objs := parseGenerate(t, data, "Passage")
	if len(objs) != 3 {
		t.Fatalf("Go client raw GraphQL: %d objects", len(objs))
	}
	for _, o := range objs {
		if o.Error != nil || o.num("completionTokens") != 6 || o.num("alphaCL") != 10 || o.num("topK") != 2 {
			t.Errorf("Go client raw GraphQL %s: error %q, metadata %v", o.Title, o.err(), o.Asmr)
		}
	}
}

// tsClientVersion is the weaviate-client pinned in integration_test/ts
// (the newest release that supports Node 20).
const tsClientVersion = "3.12.1"

// testTSClient runs integration_test/ts/generate.mjs, which uses the
// official TypeScript client's collection.generate over gRPC. gRPC cannot
// carry asmr options, so the class moduleConfig applies; the answers must
// equal those of the same queries over GraphQL without asmr options.
func testTSClient(t *testing.T, s *Server) {
	dir := filepath.Join(RepoRoot(t), "integration_test", "ts")
	node := requireNode(t)
	ensureNodeModules(t, dir)

	// References over GraphQL: fetchObjects is Get without a search
	// (objects by id), nearObject is nearObject.
	refSingle := generate(t, s, "Passage", genQuery("Passage", "limit: 3", singleArgs("")))
	refGrouped := generate(t, s, "Passage", genQuery("Passage", "limit: 3", groupedArgs("")))
	refNear := generate(t, s, "Passage", genQuery("Passage", fmt.Sprintf(`nearObject: {id: %q}, limit: 2`, passages[0].id), groupedArgs("")))
	if len(refSingle) != 3 || len(refGrouped) != 3 || len(refNear) != 2 {
		t.Fatalf("GraphQL references: %d, %d, %d objects", len(refSingle), len(refGrouped), len(refNear))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "generate.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"WEAVIATE_HOST=127.0.0.1",
		"WEAVIATE_HTTP_PORT="+strconv.Itoa(s.Ports.HTTP),
		"WEAVIATE_GRPC_PORT="+strconv.Itoa(s.Ports.GRPC),
		"WEAVIATE_CLASS=Passage",
		"SINGLE_PROMPT="+singlePrompt,
		"GROUPED_TASK="+groupedTask,
		"NEAR_OBJECT_ID="+passages[0].id,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node generate.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	t.Logf("node generate.mjs took %v", time.Since(start).Round(10*time.Millisecond))
	type tsObject struct {
		ID, Title, Text string
		DebugPrompt     *string
	}
	var out struct {
		ClientVersion string `json:"clientVersion"`
		ServerVersion string `json:"serverVersion"`
		Both          struct {
			Objects []tsObject `json:"objects"`
			Grouped string     `json:"grouped"`
		} `json:"both"`
		Single struct {
			Objects []tsObject `json:"objects"`
		} `json:"single"`
		Near struct {
			IDs     []string `json:"ids"`
			Grouped string   `json:"grouped"`
		} `json:"near"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node output: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("TypeScript client output: %s", strings.TrimSpace(stdout.String()))
	if out.ClientVersion != tsClientVersion || out.ServerVersion != "1.35.2" {
		t.Errorf("client %s, server %s; want %s and 1.35.2", out.ClientVersion, out.ServerVersion, tsClientVersion)
	}
	for name, objs := range map[string][]tsObject{"singlePrompt+groupedTask": out.Both.Objects, "singlePrompt": out.Single.Objects} {
		if len(objs) != 3 {
			t.Fatalf("TS fetchObjects %s: %d objects", name, len(objs))
		}
		for i, o := range objs {
			ref := refSingle[i]
			if o.ID != ref.ID {
				t.Fatalf("TS %s object %d is %s, GraphQL's is %s: the orders differ", name, i, o.ID, ref.ID)
			}
			if o.Text == "" || o.Text != ref.single() {
				t.Errorf("TS %s %s: %q; GraphQL %q", name, o.Title, o.Text, ref.single())
			}
		}
	}
	// The class's moduleConfig reached the reader over gRPC: the same full
	// prompt as over GraphQL, the question's {title} filled in.
	for i, o := range out.Single.Objects {
		if o.DebugPrompt == nil || *o.DebugPrompt != refSingle[i].Debug {
			t.Errorf("TS debug prompt %s: %v; GraphQL:\n%s", o.Title, o.DebugPrompt, refSingle[i].Debug)
			continue
		}
		mustContainAll(t, "TS debug prompt", *o.DebugPrompt, "Wer hat "+o.Title+" erfunden")
	}
	// maxTokens 12 of the class (not the ops default 32) applied: the
	// references' metadata says so, and the answers are equal.
	if refSingle[0].num("completionTokens") != 12 {
		t.Errorf("GraphQL reference completionTokens %v, want 12", refSingle[0].Asmr["completionTokens"])
	}
	if out.Both.Grouped == "" || out.Both.Grouped != refGrouped[0].grouped() {
		t.Errorf("TS groupedTask: %q; GraphQL %q", out.Both.Grouped, refGrouped[0].grouped())
	}
	if len(out.Near.IDs) != 2 || out.Near.IDs[0] != refNear[0].ID || out.Near.IDs[1] != refNear[1].ID {
		t.Errorf("TS nearObject ids %v; GraphQL %s %s", out.Near.IDs, refNear[0].ID, refNear[1].ID)
	}
	if out.Near.Grouped == "" || out.Near.Grouped != refNear[0].grouped() {
		t.Errorf("TS nearObject groupedTask: %q; GraphQL %q", out.Near.Grouped, refNear[0].grouped())
	}
	if refNear[0].num("passagesUsed") != 2 {
		t.Errorf("nearObject reference passagesUsed %v, want 2", refNear[0].Asmr["passagesUsed"])
	}
}

// requireNode returns the path of node, failing the test unless it is
// Node.js 20 or newer (weaviate-client 3.12.1 needs 20).
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (Node.js 20 or newer) is not installed; the TypeScript client test needs it: %v", err)
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	ver := strings.TrimPrefix(strings.TrimSpace(string(v)), "v")
	major, _ := strconv.Atoi(strings.SplitN(ver, ".", 2)[0])
	if major < 20 {
		t.Fatalf("node %s is too old: weaviate-client %s needs Node.js 20 or newer", ver, tsClientVersion)
	}
	return node
}

// ensureNodeModules installs integration_test/ts's locked dependencies with
// `npm ci` unless node_modules already holds weaviate-client at the pinned
// version. It fails the test, saying why, when npm cannot install them.
func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	installed := func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", "weaviate-client", "package.json"))
		if err != nil {
			return false
		}
		var p struct{ Version string }
		return json.Unmarshal(b, &p) == nil && p.Version == tsClientVersion
	}
	if installed() {
		return
	}
	unlock, err := lockFile(filepath.Join(dir, ".npm-install.lock"))
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer unlock()
	if installed() {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm is not installed; it is needed once to install weaviate-client %s into %s/node_modules: %v", tsClientVersion, dir, err)
	}
	t.Logf("installing weaviate-client %s with `npm ci` in %s", tsClientVersion, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("`npm ci` in %s failed (%v): weaviate-client %s could not be installed; is the npm registry (%s) reachable?\n%s",
			dir, err, tsClientVersion, npmRegistry(npm), tail(string(out), 30))
	}
	if !installed() {
		t.Fatalf("`npm ci` in %s succeeded but node_modules/weaviate-client is not version %s", dir, tsClientVersion)
	}
}

func npmRegistry(npm string) string {
	out, err := exec.Command(npm, "config", "get", "registry").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
