package main

import (
	"context"
	"os"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/devserver"
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
	return devserver.Run(ctx, devserver.Config{
		Bin: *bin, Dir: *dir, Ops: os.Getenv(config.EnvConfig), Model: *model,
		HTTPPort: *port, GRPCPort: *grpcPort, Demo: !*noDemo, Out: os.Stdout,
	})
}
