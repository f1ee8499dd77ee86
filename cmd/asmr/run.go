package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
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
	ports, err := localcluster.FreePorts(1)
	if err != nil {
		return err
	}
	if *port != 0 {
		ports[0].HTTP = *port
	}
	if *grpcPort != 0 {
		ports[0].GRPC = *grpcPort
	}
	if !localcluster.PortsFree(ports) {
		return fmt.Errorf("port %d or %d on 127.0.0.1 is taken: pass -port 0 -grpc-port 0 for free ones", ports[0].HTTP, ports[0].GRPC)
	}
	// A one-node cluster is a plain server; the kernel stops it if we die.
	c, err := localcluster.New(localcluster.Config{
		Bin: *bin, Dir: abs, Nodes: 1, Ports: ports,
		Env:  map[string]string{"ASMR_CONFIG": opsPath},
		Logf: func(format string, args ...any) { fmt.Printf(format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	node := c.Nodes[0]
	fmt.Printf("starting weaviate-asmr (log %s) ...\n", node.LogPath)
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer c.Stop()
	if !*noDemo {
		if err := demoCollection(ctx, node.URL()); err != nil {
			return err
		}
	}
	fmt.Printf("\nweaviate-asmr is ready: HTTP %s, gRPC %s, data %s, pid %d\n", node.URL(), node.GRPCAddr(), node.DataDir, node.PID)
	fmt.Printf("Press Ctrl-C to stop it.\n")
	for ctx.Err() == nil && c.Running(0) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if ctx.Err() == nil {
		return fmt.Errorf("weaviate-asmr exited\n--- %s (tail) ---\n%s", node.LogPath, localcluster.LogTail(node.LogPath, 30))
	}
	fmt.Println("\nstopping ...")
	return nil
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
