package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/probes"
	"github.com/asmr-search/generative-asmr/steering"
	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// runServer is `make run`: it starts bin/weaviate-asmr in the foreground on
// an embedded default (a generated tiny model and a profile probed from the
// shipped data, unless ASMR_CONFIG names a real setup), loads a small
// multilingual collection, answers one query and prints it ready to paste.
func runServer(ctx context.Context, args []string) error {
	fs := newFlags("run", "[-dir .cache/run] [-port 8080] [-grpc-port 50051]")
	dir := fs.String("dir", ".cache/run", "folder for the data, the generated model and profile, and the server log")
	bin := fs.String("bin", "bin/weaviate-asmr", "the server binary (make build)")
	port := fs.Int("port", 8080, "HTTP port on 127.0.0.1 (0 = a free one)")
	grpcPort := fs.Int("grpc-port", 50051, "gRPC port on 127.0.0.1 (0 = a free one)")
	noDemo := fs.Bool("no-demo", false, "do not create or fill the demo collection")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", *bin, err)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	opsPath := os.Getenv("ASMR_CONFIG")
	if opsPath == "" {
		if opsPath, err = embeddedDefault(ctx, abs); err != nil {
			return err
		}
	} else {
		fmt.Printf("using ASMR_CONFIG=%s\n", opsPath)
	}
	for _, p := range []*int{port, grpcPort} {
		if *p, err = portOrFree(*p); err != nil {
			return err
		}
	}
	gossip, err := freePair()
	if err != nil {
		return err
	}
	raft, err := freePair()
	if err != nil {
		return err
	}
	logPath := filepath.Join(abs, "weaviate.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(*bin, "--host", "127.0.0.1", "--port", strconv.Itoa(*port), "--scheme", "http")
	cmd.Env = append(os.Environ(), serverEnv(map[string]string{
		"PERSISTENCE_DATA_PATH":    filepath.Join(abs, "data"),
		"ASMR_CONFIG":              opsPath,
		"GRPC_PORT":                strconv.Itoa(*grpcPort),
		"CLUSTER_GOSSIP_BIND_PORT": strconv.Itoa(gossip),
		"CLUSTER_DATA_BIND_PORT":   strconv.Itoa(gossip + 1),
		"RAFT_PORT":                strconv.Itoa(raft),
		"RAFT_INTERNAL_RPC_PORT":   strconv.Itoa(raft + 1),
	})...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server goes down with us, even if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", *bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", *port)
	fmt.Printf("starting weaviate-asmr (pid %d, log %s) ...\n", cmd.Process.Pid, logPath)
	if err := waitReady(ctx, base, exited, 120*time.Second); err != nil {
		stop()
		return fmt.Errorf("%w\n--- %s (tail) ---\n%s", err, logPath, fileTail(logPath, 30))
	}
	if !*noDemo {
		if err := demoCollection(ctx, base); err != nil {
			stop()
			return err
		}
	}
	fmt.Printf("\nweaviate-asmr is ready: HTTP %s, gRPC 127.0.0.1:%d, data %s\n", base, *grpcPort, filepath.Join(abs, "data"))
	fmt.Printf("Press Ctrl-C to stop it.\n")
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping ...")
		stop()
		return nil
	case err := <-exited:
		return fmt.Errorf("weaviate-asmr exited: %v\n--- %s (tail) ---\n%s", err, logPath, fileTail(logPath, 30))
	}
}

// serverEnv is the environment of a loopback weaviate-asmr: the settings
// DESIGN.md verified, no outbound network, and the caller's additions.
func serverEnv(extra map[string]string) []string {
	env := map[string]string{
		"DEFAULT_VECTORIZER_MODULE":               "none",
		"ENABLE_MODULES":                          "generative-asmr",
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "true",
		"CLUSTER_HOSTNAME":                        "node1",
		"CLUSTER_ADVERTISE_ADDR":                  "127.0.0.1",
		"CLUSTER_IN_LOCALHOST":                    "true",
		"DISABLE_TELEMETRY":                       "true",
		"API_BASED_MODULES_DISABLED":              "true",
		"GO_PROFILING_DISABLE":                    "true",
		"RAFT_TIMEOUTS_MULTIPLIER":                "1",
		"LOG_FORMAT":                              "text",
	}
	for k, v := range extra {
		env[k] = v
	}
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// embeddedDefault writes (once) a tiny random-weight model, a profile
// probed on it from the shipped AC and CL data, and an ops file naming both.
func embeddedDefault(ctx context.Context, dir string) (string, error) {
	modelPath := filepath.Join(dir, "asmr-tiny.gguf")
	profilePath := filepath.Join(dir, "asmr-tiny-profile.yaml")
	opsPath := filepath.Join(dir, "asmr.yaml")
	fmt.Printf("embedded default: a TINY model with RANDOM weights, generated here (%s).\n"+
		"  Its answers are noise; it shows the module working end to end. See the README to use a real GGUF or Ollama model.\n", modelPath)
	if _, err := os.Stat(modelPath); err != nil {
		spec := testmodel.Spec{Layers: 4, Heads: 8, KVHeads: 4, HeadDim: 32, FFN: 384, Type: testmodel.F32, Seed: 42, Name: "asmr-tiny-demo", ContextLength: 2048}
		if err := testmodel.Write(modelPath, spec, nil); err != nil {
			return "", err
		}
	}
	if _, err := config.LoadProfile(profilePath); err != nil {
		fmt.Println("probing the tiny model on the shipped data (once; about a minute) ...")
		if err := probeDefault(ctx, modelPath, profilePath); err != nil {
			return "", fmt.Errorf("embedded default profile: %w", err)
		}
	}
	ops := fmt.Sprintf(`# Written by asmr run: the embedded default.
models:
  tiny:
    path: %s
    contextSize: 2048
    slots: 2
profiles:
  tiny:
    path: %s
    model: tiny
defaults:
  model: tiny
  profile: tiny
  alphaAC: 8
  alphaCL: 8
  topK: 16
  maxTokens: 48
limits:
  queueLength: 16
  requestTimeout: 120s
`, modelPath, profilePath)
	return opsPath, os.WriteFile(opsPath, []byte(ops), 0o644)
}

func probeDefault(ctx context.Context, modelPath, profilePath string) error {
	m, err := steering.Load(modelPath, steering.Options{ContextSize: 1024})
	if err != nil {
		return err
	}
	defer m.Close()
	id, err := config.ModelFingerprint(modelPath)
	if err != nil {
		return err
	}
	ac, err := acDataset("", "", 1)
	if err != nil {
		return err
	}
	// A fifth of the paper's pair counts keeps the first start short.
	cl, err := clDataset("", "", strings.Join(probes.DefaultCLLanguages, ","), probes.PairOptions{Same: 400, Different: 400, Seed: 1})
	if err != nil {
		return err
	}
	p := config.NewProfile(id, "asmr run (embedded default)")
	for _, ds := range []probes.Dataset{ac, cl} {
		bars := newStageBars(false)
		attr, _, err := probes.Probe(ctx, m, ds, probes.ProbeOptions{TopK: 16, Progress: bars.update})
		bars.finish()
		if err != nil {
			return err
		}
		p.Attributes[ds.Attribute] = attr
	}
	return p.Save(profilePath)
}

// demoArticles is the demo collection: short passages in several languages
// on two topics, so bm25 finds them from a question in any of them.
var demoArticles = []map[string]string{
	{"title": "Telephone", "lang": "en", "body": "Alexander Graham Bell was awarded the first US patent for the telephone in 1876."},
	{"title": "Telefon", "lang": "de", "body": "Das Telefon wurde 1876 von Alexander Graham Bell patentiert; Philipp Reis hatte schon 1861 einen Apparat vorgeführt."},
	{"title": "Téléphone", "lang": "fr", "body": "Le téléphone a été breveté par Alexander Graham Bell en 1876."},
	{"title": "Teléfono", "lang": "es", "body": "Antonio Meucci desarrolló un teletrófono, pero Bell obtuvo la patente del teléfono en 1876."},
	{"title": "Printing press", "lang": "en", "body": "Johannes Gutenberg introduced printing with movable metal type in Europe around 1440."},
	{"title": "Buchdruck", "lang": "de", "body": "Johannes Gutenberg erfand um 1440 in Mainz den Buchdruck mit beweglichen Metalllettern."},
	{"title": "Imprimerie", "lang": "fr", "body": "Gutenberg a mis au point l'imprimerie à caractères mobiles vers 1440 à Mayence."},
	{"title": "Stampa", "lang": "it", "body": "La stampa a caratteri mobili fu introdotta in Europa da Gutenberg intorno al 1440."},
}

const demoQuery = `{
  Get {
    Article(bm25: {query: "Telefon Bell 1876"}, limit: 3) {
      title
      lang
      _additional {
        generate(
          singleResult: {prompt: "Fasse auf Deutsch zusammen: {body}"}
          groupedResult: {task: "Wer hat das Telefon erfunden?", properties: ["body"], asmr: {alphaCL: 12}}
        ) {
          singleResult groupedResult error
          asmr { steered steeredHeads language answerLanguage promptTokens completionTokens passagesUsed }
        }
      }
    }
  }
}`

func demoCollection(ctx context.Context, base string) error {
	var schema struct {
		Classes []struct{ Class string } `json:"classes"`
	}
	if err := httpJSON(ctx, "GET", base+"/v1/schema", nil, &schema); err != nil {
		return err
	}
	have := false
	for _, c := range schema.Classes {
		have = have || c.Class == "Article"
	}
	if !have {
		class := map[string]any{
			"class": "Article",
			"properties": []map[string]any{
				{"name": "title", "dataType": []string{"text"}},
				{"name": "body", "dataType": []string{"text"}},
				{"name": "lang", "dataType": []string{"text"}},
			},
			"vectorConfig":        map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
			"moduleConfig":        map[string]any{"generative-asmr": map[string]any{"maxTokens": 48}},
			"invertedIndexConfig": map[string]any{"bm25": map[string]any{"b": 0.75, "k1": 1.2}},
		}
		if err := httpJSON(ctx, "POST", base+"/v1/schema", class, nil); err != nil {
			return fmt.Errorf("create the demo class: %w", err)
		}
		var objs []map[string]any
		for _, a := range demoArticles {
			objs = append(objs, map[string]any{"class": "Article", "properties": a})
		}
		var res []struct {
			Result struct {
				Errors any `json:"errors"`
			} `json:"result"`
		}
		if err := httpJSON(ctx, "POST", base+"/v1/batch/objects", map[string]any{"objects": objs}, &res); err != nil {
			return fmt.Errorf("import the demo objects: %w", err)
		}
		fmt.Printf("created class Article with %d multilingual passages (bm25; the embedded default has no vectorizer)\n", len(objs))
	}
	fmt.Printf("\nA query (paste into any GraphQL client at %s/v1/graphql):\n\n%s\n", base, demoQuery)
	var out json.RawMessage
	start := time.Now()
	if err := httpJSON(ctx, "POST", base+"/v1/graphql", map[string]any{"query": demoQuery}, &out); err != nil {
		return fmt.Errorf("demo query: %w", err)
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, out, "", "  ")
	fmt.Printf("\nIts answer (%s):\n\n%s\n", time.Since(start).Round(time.Millisecond), pretty.String())
	q, _ := json.Marshal(map[string]string{"query": demoQuery})
	fmt.Printf("\nor with curl:\n\ncurl -s %s/v1/graphql -H 'Content-Type: application/json' -d '%s'\n", base, strings.ReplaceAll(string(q), "'", `'\''`))
	return nil
}

func httpJSON(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func waitReady(ctx context.Context, base string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("weaviate-asmr exited during start-up: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		resp, err := http.Get(base + "/v1/.well-known/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("weaviate-asmr was not ready in time")
}

func portOrFree(p int) (int, error) {
	if p == 0 {
		return freePort()
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return 0, fmt.Errorf("port %d is taken (%v): pass -port/-grpc-port 0 for a free one", p, err)
	}
	return p, l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePair finds a port p with p+1 also free: Weaviate binds the gossip
// and Raft ports and the one after each.
func freePair() (int, error) {
	for range 50 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no two consecutive free ports on 127.0.0.1")
}

func fileTail(path string, lines int) string {
	b, _ := os.ReadFile(path)
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}
