package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// FlashAttention says whether llama.cpp uses its flash-attention kernel:
// as the ops file's flashAttention and `asmr generate -flash-attn` write
// it, and as steering.Options takes it. "" means FlashAttentionAuto.
type FlashAttention string

const (
	// FlashAttentionAuto lets llama.cpp decide per backend (the default).
	FlashAttentionAuto FlashAttention = "auto"
	// FlashAttentionOn requires the kernel.
	FlashAttentionOn FlashAttention = "on"
	// FlashAttentionOff never uses it.
	FlashAttentionOff FlashAttention = "off"
)

// FlashAttentionModes lists the modes, the default first.
var FlashAttentionModes = []FlashAttention{FlashAttentionAuto, FlashAttentionOn, FlashAttentionOff}

// ParseFlashAttention reads a mode in any letter case: auto (or ""), on
// (or true, yes), off (or false, no). The error is `"<s>": want auto, on
// or off`.
func ParseFlashAttention(s string) (FlashAttention, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return FlashAttentionAuto, nil
	case "on", "true", "yes":
		return FlashAttentionOn, nil
	case "off", "false", "no":
		return FlashAttentionOff, nil
	}
	return "", fmt.Errorf("%q: want %s", s, oneOf(FlashAttentionModes))
}

// UnmarshalYAML reads a mode with ParseFlashAttention; YAML's true and
// false mean on and off.
func (f *FlashAttention) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want " + oneOf(FlashAttentionModes))
	}
	v, err := ParseFlashAttention(n.Value)
	if err != nil {
		return err
	}
	*f = v
	return nil
}
