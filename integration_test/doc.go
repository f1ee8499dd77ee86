// Package integration_test runs the real weaviate-asmr server end to end.
package integration_test
