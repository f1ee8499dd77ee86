// Package integration_test runs the real weaviate-asmr server end to end:
// Weaviate v1.35.2 with the generative-asmr module, on loopback ports, from
// bin/weaviate-asmr.
//
// The helpers here are usable from any test:
//
//	s := integration_test.StartServer(t, integration_test.Env{"ASMR_CONFIG": cfgPath})
//	s.CreateClass(t, map[string]any{"class": "Passage", "moduleConfig": map[string]any{"generative-asmr": map[string]any{}}})
//	s.BatchObjects(t, objects)
//	var data struct{ Get map[string][]map[string]any }
//	s.GraphQL(t, `{ Get { Passage { text } } }`, nil, &data)
//	s.Restart(t) // same ports, same data
//
// BinaryPath builds bin/weaviate-asmr with `make build` when it is missing
// or older than the sources it is made of (module/, config/, steering/,
// probes/, cmd/weaviate-asmr/, go.mod, go.sum), so `go test -tags e2e
// ./integration_test` works right after `make deps`; the first build takes
// minutes. Every server is stopped by t.Cleanup, and a failing test prints
// the tail of the server's log.
//
// The tests carry the build tag e2e (as ollama's integration/ tests do):
// `make test` passes it, a plain `go test ./...` leaves them out, and
// `go test -short -tags e2e` skips the ones that start a server.
package integration_test
