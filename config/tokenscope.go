package config

import (
	"fmt"
	"strings"
)

// TokenScope says which token positions steering shifts: as the options'
// tokenScope and `asmr eval -scope` write it, and as steering.Steer takes
// it. "" means TokenScopeGeneration.
type TokenScope string

const (
	// TokenScopeGeneration steers the last prompt token and every
	// generated token, as inference-time intervention (ITI) does: the
	// default.
	TokenScopeGeneration TokenScope = "generation"
	// TokenScopeAll steers every position, prompt included. It equals
	// running a copy of the model whose attn_output.bias carries W_o·shift
	// (`asmr bake`).
	TokenScopeAll TokenScope = "all"
)

// ParseTokenScope reads a scope in any letter case, around spaces; "" is
// TokenScopeGeneration (but not a blank, which is a mistake). The error is `"<s>" is not a scope; want
// "generation" (...) or "all" (...)`, each with what it steers.
func ParseTokenScope(s string) (TokenScope, error) {
	if s == "" {
		return TokenScopeGeneration, nil
	}
	switch t := TokenScope(strings.ToLower(strings.TrimSpace(s))); t {
	case TokenScopeGeneration, TokenScopeAll:
		return t, nil
	}
	return "", fmt.Errorf("%q is not a scope; want %q (last prompt token and generated tokens) or %q (every token)", s, TokenScopeGeneration, TokenScopeAll)
}
