// Package config holds what operators and users write: the ops YAML, the
// per-class and per-query options of the Weaviate module, and the versioned
// steering-profile format that probes write and steering reads.
package config
