// Package devserver runs weaviate-asmr in the foreground for `asmr run`
// (make run): one node on loopback (internal/localcluster), serving the
// ops file it is given or the embedded default (internal/opsfile), with
// the demo collection loaded and its sample query answered, until the
// context ends or the server exits.
package devserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/internal/localcluster"
	"github.com/asmr-search/generative-asmr/internal/opsfile"
	"github.com/asmr-search/generative-asmr/internal/weaviatehttp"
)

// Config says what to run.
type Config struct {
	// Bin is the weaviate-asmr binary; Dir holds the data, the written ops
	// file and profile, and the server log.
	Bin, Dir string
	// Ops is the ops file served (ASMR_CONFIG); "" writes the embedded
	// default for the GGUF at Model into Dir.
	Ops, Model string
	// HTTPPort and GRPCPort are the ports on 127.0.0.1; 0 takes a free one.
	HTTPPort, GRPCPort int
	// Demo creates and fills the demo collection (class Article) unless it
	// exists, and answers its sample query.
	Demo bool
	// Out receives what the user reads: progress, the sample query and its
	// answer, where the server listens.
	Out io.Writer
}

// Run starts the server, loads the demo, and waits until ctx ends (nil
// error: the user stopped it) or the server exits (an error with the tail
// of its log). The server is stopped before Run returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if _, err := os.Stat(cfg.Bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", cfg.Bin, err)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ops := cfg.Ops
	if ops == "" {
		d, err := opsfile.EmbeddedDefault(dir, cfg.Model, "Written by asmr run: the embedded default.")
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.Out, "embedded default: %s\n", d)
		ops = d.Ops
	} else {
		fmt.Fprintf(cfg.Out, "using ASMR_CONFIG=%s\n", ops)
	}
	ports, err := localcluster.FreePorts(1)
	if err != nil {
		return err
	}
	if cfg.HTTPPort != 0 {
		ports[0].HTTP = cfg.HTTPPort
	}
	if cfg.GRPCPort != 0 {
		ports[0].GRPC = cfg.GRPCPort
	}
	if !localcluster.PortsFree(ports) {
		return fmt.Errorf("port %d or %d on 127.0.0.1 is taken: pass -port 0 -grpc-port 0 for free ones", ports[0].HTTP, ports[0].GRPC)
	}
	// A one-node cluster is a plain server; the kernel stops it if we die.
	c, err := localcluster.New(localcluster.Config{
		Bin: cfg.Bin, Dir: dir, Nodes: 1, Ports: ports,
		Env:  map[string]string{config.EnvConfig: ops},
		Logf: func(format string, args ...any) { fmt.Fprintf(cfg.Out, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	node := c.Nodes[0]
	fmt.Fprintf(cfg.Out, "starting weaviate-asmr (log %s) ...\n", node.LogPath)
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer c.Stop()
	if cfg.Demo {
		// Generation on a CPU is slow: the sample query may take a while.
		wc, err := weaviatehttp.New(node.URL(), nil, 10*time.Minute)
		if err != nil {
			return err
		}
		if err := LoadDemo(ctx, wc, node.URL(), cfg.Out); err != nil {
			return err
		}
	}
	fmt.Fprintf(cfg.Out, "\nweaviate-asmr is ready: HTTP %s, gRPC %s, data %s, pid %d\n", node.URL(), node.GRPCAddr(), node.DataDir, node.PID)
	fmt.Fprintf(cfg.Out, "Press Ctrl-C to stop it.\n")
	for ctx.Err() == nil && c.Running(0) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if ctx.Err() == nil {
		return fmt.Errorf("weaviate-asmr exited\n--- %s (tail) ---\n%s", node.LogPath, localcluster.LogTail(node.LogPath, 30))
	}
	fmt.Fprintln(cfg.Out, "\nstopping ...")
	return nil
}
