// Command asmr is the generative-asmr toolbox: it writes test models, runs
// the steered reader from the command line, and benchmarks it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/asmr-search/generative-asmr/config"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"gen-model": {"write a synthetic llama-architecture GGUF (test or benchmark shape)", runGenModel},
		"generate":  {"generate text with a GGUF file or Ollama model, optionally steered", runGenerate},
		"demo":      {"run the reader on a built-in tiny model, unsteered and steered", runDemo},
		"bench":     {"measure prefill/decode speed, steered and unsteered, against ollama serve (bench serving: against generative-ollama in one Weaviate)", runBench},
		"probe":     {"find the heads that carry AC and CL and write a steering profile", runProbe},
		"profile":   {"show or merge steering profiles", runProfile},
		"run":       {"start weaviate-asmr on an embedded default with a demo collection (make run)", runServer},
		"bake":      {"write a GGUF whose attn_output.bias carries a profile's steering", runBake},
		"eval":      {"score baseline, 1-shot and ASMR on XOR-TyDi QA / MKQA (Tables 1, 2) and sweep K x alpha (Figure 3)", runEval},
		"cluster":   {"run weaviate-asmr nodes as a local cluster (up, down, status) and benchmark it", runCluster},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: asmr <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'asmr <command> -h' for its flags.\n")
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "asmr: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if os.Getenv(config.EnvDebug) != "" {
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "asmr %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("asmr "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: asmr %s %s\n\n%s.\n\nflags:\n", name, args, commands[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
