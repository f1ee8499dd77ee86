// Command weaviate-asmr is a stock Weaviate server (the version pinned in
// go.mod) with the generative-asmr module registered.
//
// Weaviate has no plugin hook: its modules are registered in the unexported
// registerModules of adapters/handlers/rest. `make build` therefore copies
// the pinned Weaviate module out of the module cache into .cache/, lets
// ./internal/patchweaviate add our module's registration there, and builds
// this main with -modfile pointing at a go.mod that replaces Weaviate with
// that copy. A plain `go build` of this package compiles (against the
// unpatched Weaviate) but serves without generative-asmr, so it refuses to
// start unless WEAVIATE_ASMR_ALLOW_UNPATCHED=true.
//
// Everything else — flags, environment variables, endpoints — is Weaviate's.
package main

import (
	"fmt"
	"log"
	"os"
	"runtime/debug"

	"github.com/go-openapi/loads"
	flags "github.com/jessevdk/go-flags"

	"github.com/weaviate/weaviate/adapters/handlers/rest"
	"github.com/weaviate/weaviate/adapters/handlers/rest/operations"
)

const weaviateModule = "github.com/weaviate/weaviate"

func main() {
	if err := checkPatched(); err != nil {
		if os.Getenv("WEAVIATE_ASMR_ALLOW_UNPATCHED") != "true" {
			fmt.Fprintf(os.Stderr, "weaviate-asmr: %v\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "weaviate-asmr: warning: %v (starting anyway)\n", err)
	}

	swaggerSpec, err := loads.Embedded(rest.SwaggerJSON, rest.FlatSwaggerJSON)
	if err != nil {
		log.Fatalln(err)
	}

	api := operations.NewWeaviateAPI(swaggerSpec)
	server := rest.NewServer(api)
	defer server.Shutdown()

	parser := flags.NewParser(server, flags.Default)
	parser.ShortDescription = "Weaviate REST API, with the generative-asmr module"
	parser.LongDescription = "Weaviate with the generative-asmr module (in-process, activation-steered LLM reader). " +
		"Enable it with ENABLE_MODULES=generative-asmr; see https://github.com/asmr-search/generative-asmr."
	server.ConfigureFlags()
	for _, optsGroup := range api.CommandLineOptionsGroups {
		if _, err := parser.AddGroup(optsGroup.ShortDescription, optsGroup.LongDescription, optsGroup.Options); err != nil {
			log.Fatalln(err)
		}
	}

	if _, err := parser.Parse(); err != nil {
		code := 1
		if fe, ok := err.(*flags.Error); ok && fe.Type == flags.ErrHelp {
			code = 0
		}
		os.Exit(code)
	}

	server.ConfigureAPI()

	if err := server.Serve(); err != nil {
		log.Fatalln(err)
	}
}

// checkPatched reports an error unless this binary was linked against a
// replaced (copied and patched) Weaviate, which is what `make build` does.
func checkPatched() error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("no build information in the binary; cannot tell whether generative-asmr is registered")
	}
	for _, d := range bi.Deps {
		if d.Path != weaviateModule {
			continue
		}
		if d.Replace == nil {
			return fmt.Errorf("built against the unpatched %s %s, so the generative-asmr module is not registered; build with `make build` (bin/weaviate-asmr)", weaviateModule, d.Version)
		}
		return nil
	}
	return fmt.Errorf("%s is not among the binary's dependencies", weaviateModule)
}
