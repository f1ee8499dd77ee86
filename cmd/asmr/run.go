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

	"github.com/asmr-search/generative-asmr/internal/demo"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/profiles"
)

// runServer is `make run`: it starts bin/weaviate-asmr in the foreground on
// an embedded default (Gemma 3 270M steered by the shipped profile, unless
// ASMR_CONFIG names another setup), loads a small collection of English
// passages, answers a question in another language and prints the query
// ready to paste.
func runServer(ctx context.Context, args []string) error {
	fs := newFlags("run", "[-dir .cache/run] [-port 8080] [-grpc-port 50051]")
	dir := fs.String("dir", ".cache/run", "folder for the data, the generated model and profile, and the server log")
	bin := fs.String("bin", "bin/weaviate-asmr", "the server binary (make build)")
	port := fs.Int("port", 8080, "HTTP port on 127.0.0.1 (0 = a free one)")
	grpcPort := fs.Int("grpc-port", 50051, "gRPC port on 127.0.0.1 (0 = a free one)")
	noDemo := fs.Bool("no-demo", false, "do not create or fill the demo collection")
	model := fs.String("model", ".cache/models/gemma-3-270m-q4_k_m.gguf", "the GGUF of the embedded default (make model fetches it); ignored with ASMR_CONFIG")
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
		if opsPath, err = embeddedDefault(abs, *model); err != nil {
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

// embeddedDefault writes an ops file for Gemma 3 270M (the GGUF `make
// model` fetched) steered by the shipped profile that was probed on it.
func embeddedDefault(dir, modelPath string) (string, error) {
	if _, err := os.Stat(modelPath); err != nil {
		return "", fmt.Errorf("the default model: %w (run make model, or give -model)", err)
	}
	absModel, err := filepath.Abs(modelPath)
	if err != nil {
		return "", err
	}
	profilePath := filepath.Join(dir, profiles.Gemma3_270MName)
	if err := os.WriteFile(profilePath, profiles.Gemma3_270M, 0o644); err != nil {
		return "", err
	}
	opsPath := filepath.Join(dir, "asmr.yaml")
	fmt.Printf("embedded default: Gemma 3 270M (%s), steered by the shipped profile %s\n", absModel, profilePath)
	ops := "# Written by asmr run: the embedded default.\n" + profiles.GemmaOps(absModel, profilePath, 2, 2048)
	return opsPath, os.WriteFile(opsPath, []byte(ops), 0o644)
}

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
			},
			"vectorConfig":        map[string]any{"default": map[string]any{"vectorizer": map[string]any{"none": map[string]any{}}, "vectorIndexType": "hnsw"}},
			"moduleConfig":        map[string]any{"generative-asmr": map[string]any{"maxTokens": 48}},
			"invertedIndexConfig": map[string]any{"bm25": map[string]any{"b": 0.75, "k1": 1.2}},
		}
		if err := httpJSON(ctx, "POST", base+"/v1/schema", class, nil); err != nil {
			return fmt.Errorf("create the demo class: %w", err)
		}
		var objs []map[string]any
		for _, a := range demo.Articles {
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
		fmt.Printf("created class Article with %d English passages (bm25; the embedded default has no vectorizer)\n", len(objs))
	}
	fmt.Printf("\nA query (paste into any GraphQL client at %s/v1/graphql):\n\n%s\n", base, demo.Query)
	var out json.RawMessage
	start := time.Now()
	if err := httpJSON(ctx, "POST", base+"/v1/graphql", map[string]any{"query": demo.Query}, &out); err != nil {
		return fmt.Errorf("demo query: %w", err)
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, out, "", "  ")
	fmt.Printf("\nIts answer (%s):\n\n%s\n", time.Since(start).Round(time.Millisecond), pretty.String())
	q, _ := json.Marshal(map[string]string{"query": demo.Query})
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
