package config

import (
	"cmp"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

// OpsError is the error of an ops configuration from source (the file's
// path, "environment", "built-in defaults") with the given problems, each
// "<key path> (line N | from VARIABLE): <what is wrong and the fix>": a
// *problems.Error whose message starts "ops config <source>" and lists one
// problem a line. The module uses it for what it finds at start-up too.
func OpsError(source string, ps []string) error {
	return &problems.Error{Subject: "ops config " + source, Problems: ps}
}

// OptionsError is the error of one set of options with the given problems,
// each "<field>: <what is wrong and the fix>": a *problems.Error whose
// one-line message starts "invalid <where>" (where says whose options:
// "class moduleConfig", "query asmr options"; "" = "options").
func OptionsError(where string, ps []string) error {
	return &problems.Error{Subject: "invalid " + cmp.Or(where, "options"), Problems: ps, Inline: true}
}
