// Package config holds what operators and users write: the ops YAML (ops.go
// its schema, load.go its reading, env.go the env overrides, check.go its
// checks), the per-class and per-query options of the Weaviate module
// (options.go, optionsmap.go, template.go, language.go), their resolution
// into what one request runs with (resolve.go), and the vocabularies that
// config, steering and the module share: KV cache types, flash-attention
// modes and token scopes. Every problem of an input is reported at once, in
// one *problems.Error (errors.go). Steering profiles, which the ops file
// names, are package profile.
package config
