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
)

// testPyClient runs integration_test/py/generate.py, which uses the
// official Python client (weaviate-client v4) collection.generate over
// gRPC: bm25 with both prompts, bm25 with the single prompt and debug, and
// nearVector with both prompts. gRPC cannot carry asmr options, so the
// class moduleConfig applies; the greedy answers must equal those of the
// same queries over GraphQL without asmr options, byte for byte.
//
// The client lives in the virtual environment that `make pyclient` makes
// (.cache/pyclient, pinned by integration_test/py/requirements.txt); make
// exports its python as ASMR_PYCLIENT_PYTHON. Without it the test fails
// under make and is skipped under a plain go test.
func testPyClient(t *testing.T, s *Server) {
	dir := filepath.Join(RepoRoot(t), "integration_test", "py")
	python := requirePyClient(t)
	want := pyClientPin(t, dir)

	vec, _ := json.Marshal(passages[0].vec)
	near := fmt.Sprintf(`nearVector: {vector: %s, targetVectors: ["default"]}, limit: 2`, vec)
	refSingle := generate(t, s, "Passage", genQuery("Passage", searchArgs, singleArgs("")))
	refGrouped := generate(t, s, "Passage", genQuery("Passage", searchArgs, groupedArgs("")))
	refNearSingle := generate(t, s, "Passage", genQuery("Passage", near, singleArgs("")))
	refNearGrouped := generate(t, s, "Passage", genQuery("Passage", near, groupedArgs("")))
	if len(refSingle) != 3 || len(refGrouped) != 3 || len(refNearSingle) != 2 || len(refNearGrouped) != 2 {
		t.Fatalf("GraphQL references: %d, %d, %d, %d objects", len(refSingle), len(refGrouped), len(refNearSingle), len(refNearGrouped))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "generate.py")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONIOENCODING=utf-8",
		"WEAVIATE_HOST=127.0.0.1",
		"WEAVIATE_HTTP_PORT="+strconv.Itoa(s.Ports.HTTP),
		"WEAVIATE_GRPC_PORT="+strconv.Itoa(s.Ports.GRPC),
		"WEAVIATE_CLASS=Passage",
		"SINGLE_PROMPT="+singlePrompt,
		"GROUPED_TASK="+groupedTask,
		"BM25_QUERY=Bell", // as searchArgs
		"NEAR_VECTOR="+string(vec),
		"TARGET_VECTOR=default",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("python generate.py: %v\nstderr:\n%s\nstdout:\n%s", err, tail(stderr.String(), 40), stdout.String())
	}
	t.Logf("python generate.py took %v", time.Since(start).Round(10*time.Millisecond))
	type pyObject struct {
		ID          string  `json:"id"`
		Title       string  `json:"title"`
		Text        *string `json:"text"`
		DebugPrompt *string `json:"debugPrompt"`
	}
	type pyResult struct {
		Objects []pyObject `json:"objects"`
		Grouped *string    `json:"grouped"`
	}
	var out struct {
		ClientVersion string   `json:"clientVersion"`
		ServerVersion string   `json:"serverVersion"`
		BM25          pyResult `json:"bm25"`
		Single        pyResult `json:"single"`
		Near          pyResult `json:"near"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("python output: %v\n%s\nstderr:\n%s", err, stdout.String(), tail(stderr.String(), 40))
	}
	t.Logf("Python client output: %s", strings.TrimSpace(stdout.String()))
	if out.ClientVersion != want || out.ServerVersion != "1.35.2" {
		t.Errorf("client %s, server %s; want %s (requirements.txt; rerun `make pyclient` if the venv is older) and 1.35.2",
			out.ClientVersion, out.ServerVersion, want)
	}

	// Each object's answer equals GraphQL's, in the same order.
	for _, c := range []struct {
		name string
		got  []pyObject
		ref  []genObject
	}{
		{"bm25 single_prompt+grouped_task", out.BM25.Objects, refSingle},
		{"bm25 single_prompt", out.Single.Objects, refSingle},
		{"near_vector single_prompt+grouped_task", out.Near.Objects, refNearSingle},
	} {
		if len(c.got) != len(c.ref) {
			t.Errorf("Python %s: %d objects, GraphQL %d", c.name, len(c.got), len(c.ref))
			continue
		}
		for i, o := range c.got {
			ref := c.ref[i]
			if o.ID != ref.ID {
				t.Errorf("Python %s object %d is %s, GraphQL's is %s: the orders differ", c.name, i, o.ID, ref.ID)
				continue
			}
			if o.Text == nil || *o.Text == "" || *o.Text != ref.single() {
				t.Errorf("Python %s %s: %s; GraphQL %q", c.name, o.Title, quoteOrNull(o.Text), ref.single())
			}
		}
	}

	// The class's moduleConfig reached the reader over gRPC: the same full
	// prompt as over GraphQL, the question's {title} filled in.
	for i, o := range out.Single.Objects {
		if i >= len(refSingle) {
			break
		}
		if o.DebugPrompt == nil || *o.DebugPrompt != refSingle[i].Debug {
			t.Errorf("Python debug prompt %s: %s; GraphQL:\n%s", o.Title, quoteOrNull(o.DebugPrompt), refSingle[i].Debug)
			continue
		}
		mustContainAll(t, "Python debug prompt", *o.DebugPrompt, "Wer hat "+o.Title+" erfunden")
	}
	// maxTokens 12 of the class (not the ops default 32) applied.
	if refSingle[0].num("completionTokens") != 12 {
		t.Errorf("GraphQL reference completionTokens %v, want 12", refSingle[0].Asmr["completionTokens"])
	}

	// The grouped answers.
	if out.BM25.Grouped == nil || *out.BM25.Grouped == "" || *out.BM25.Grouped != refGrouped[0].grouped() {
		t.Errorf("Python bm25 grouped_task: %s; GraphQL %q", quoteOrNull(out.BM25.Grouped), refGrouped[0].grouped())
	}
	if out.Near.Grouped == nil || *out.Near.Grouped == "" || *out.Near.Grouped != refNearGrouped[0].grouped() {
		t.Errorf("Python near_vector grouped_task: %s; GraphQL %q", quoteOrNull(out.Near.Grouped), refNearGrouped[0].grouped())
	}
	if refNearGrouped[0].num("passagesUsed") != 2 {
		t.Errorf("nearVector reference passagesUsed %v, want 2", refNearGrouped[0].Asmr["passagesUsed"])
	}
}

func quoteOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}

// requirePyClient returns ASMR_PYCLIENT_PYTHON, the python of the virtual
// environment that `make pyclient` makes. It fails the test when the
// variable names a file that is not there, or is unset under make (which
// sets it); it skips the test when it is unset under a plain go test.
func requirePyClient(t *testing.T) string {
	t.Helper()
	python := os.Getenv("ASMR_PYCLIENT_PYTHON")
	if python == "" {
		if os.Getenv("MAKELEVEL") != "" {
			t.Fatal("ASMR_PYCLIENT_PYTHON is not set under make; the Makefile exports it (see `make pyclient`)")
		}
		t.Skip("ASMR_PYCLIENT_PYTHON is not set: run `make pyclient` and set it to the absolute path of .cache/pyclient/bin/python (make test does both)")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("ASMR_PYCLIENT_PYTHON=%s: %v; run `make pyclient` to make the virtual environment with weaviate-client", python, err)
	}
	return python
}

// pyClientPin reads the weaviate-client version pinned in dir's
// requirements.txt (a line weaviate-client==X).
func pyClientPin(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "weaviate-client=="); ok && v != "" {
			return v
		}
	}
	t.Fatalf("%s/requirements.txt pins no weaviate-client==X:\n%s", dir, b)
	return ""
}
