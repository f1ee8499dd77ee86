// Package opsfile writes ops files (the YAML that ASMR_CONFIG names) from
// the config types, for the commands that start servers on a setup of
// their own: `asmr run` and `asmr cluster up` (the embedded default,
// Gemma), and `asmr cluster bench` (a synthetic model).
package opsfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/asmr-search/generative-asmr/config"
	"github.com/asmr-search/generative-asmr/profiles"
)

// Marshal encodes ops as YAML (two-space indent) under header, one
// comment line per line of header. Keys with nothing in them (null, "",
// an empty list or mapping) are left out, so the file shows what is set;
// numbers are kept, zero included, because a zero alpha or topK differs
// from an unset one. Strings with a line break are written double-quoted
// ("\n"), on one line: yaml.v3 (v3.0.1) writes some of them as block
// scalars that it reads back wrong ("\n" as "", "\n\n" as "\n").
func Marshal(ops *config.Ops, header string) ([]byte, error) {
	hidden := map[string]string{}
	text, err := yaml.Marshal(copyHiding(reflect.ValueOf(ops), hidden).Interface())
	if err != nil {
		return nil, fmt.Errorf("encode ops: %w", err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(text, &n); err != nil {
		return nil, fmt.Errorf("encode ops: %w", err)
	}
	prune(&n, hidden)
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if line != "" {
			b.WriteString("# " + line + "\n")
		}
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode ops: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode ops: %w", err)
	}
	return b.Bytes(), nil
}

// Write writes Marshal(ops, header) to path.
func Write(path, header string, ops *config.Ops) error {
	b, err := Marshal(ops, header)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write ops file: %w", err)
	}
	return nil
}

// prune drops the empty values of every mapping under n, innermost first,
// and puts the strings that copyHiding hid back, double-quoted.
func prune(n *yaml.Node, hidden map[string]string) {
	for _, c := range n.Content {
		prune(c, hidden)
	}
	if s, ok := hidden[n.Value]; ok && n.Kind == yaml.ScalarNode {
		n.Value, n.Style = s, yaml.DoubleQuotedStyle
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !empty(n.Content[i+1]) {
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = kept
}

// copyHiding returns a deep copy of v in which every string that holds a
// line break is replaced by a placeholder, recorded in hidden.
func copyHiding(v reflect.Value, hidden map[string]string) reflect.Value {
	c := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			c.Set(copyHiding(v.Elem(), hidden).Addr())
		}
	case reflect.Struct:
		c.Set(v) // the unexported fields, shallowly
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				c.Field(i).Set(copyHiding(v.Field(i), hidden))
			}
		}
	case reflect.Slice:
		if !v.IsNil() {
			c.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
			for i := range v.Len() {
				c.Index(i).Set(copyHiding(v.Index(i), hidden))
			}
		}
	case reflect.Map:
		if !v.IsNil() {
			c.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
			for _, k := range v.MapKeys() {
				c.SetMapIndex(k, copyHiding(v.MapIndex(k), hidden))
			}
		}
	case reflect.String:
		s := v.String()
		if strings.Contains(s, "\n") {
			key := fmt.Sprintf("asmr-opsfile-line-break-%d", len(hidden))
			hidden[key] = s
			s = key
		}
		c.SetString(s)
	default:
		c.Set(v)
	}
	return c
}

func empty(v *yaml.Node) bool {
	switch v.Kind {
	case 0:
		return true
	case yaml.ScalarNode:
		return v.Tag == "!!null" || (v.Tag == "!!str" && v.Value == "")
	case yaml.SequenceNode, yaml.MappingNode:
		return len(v.Content) == 0
	}
	return false
}

// Gemma is the ops configuration that serves the GGUF at modelPath as
// model "gemma", steered by the profile at profilePath (profiles.Gemma3_270M
// written out), with the settings of package profiles, slots generations
// at once and contextSize tokens each. It is the configuration that
// profiles.GemmaOps writes as text.
func Gemma(modelPath, profilePath string, slots, contextSize int) *config.Ops {
	return &config.Ops{
		Models: map[string]*config.ModelConfig{"gemma": {
			Path: modelPath, ChatTemplate: profiles.GemmaChatTemplate, Stop: []string{profiles.GemmaStop},
			ContextSize: contextSize, Slots: slots,
		}},
		Profiles: map[string]*config.ProfileConfig{"gemma": {Path: profilePath, Model: "gemma"}},
		Defaults: config.Options{
			Model: "gemma", Profile: "gemma",
			AlphaAC: ptr(profiles.GemmaAlphaAC), AlphaCL: ptr(profiles.GemmaAlphaCL), TopK: ptr(profiles.GemmaTopK),
			Direction: profiles.GemmaDirection, MaxTokens: ptr(48), PromptTemplate: profiles.GemmaPromptTemplate,
		},
		Limits: config.Limits{QueueLength: ptr(16), RequestTimeout: &config.Duration{Duration: 120 * time.Second}},
	}
}

// Default is an embedded default written out by EmbeddedDefault.
type Default struct {
	// Ops is the ops file; Model the GGUF it serves (absolute); Profile the
	// shipped profile it steers with.
	Ops, Model, Profile string
}

func (d Default) String() string {
	return fmt.Sprintf("Gemma 3 270M (%s), steered by the shipped profile %s", d.Model, d.Profile)
}

// EmbeddedDefault writes the setup that `asmr run` and `asmr cluster up`
// serve without an ops file of the user's: Gemma 3 270M (the GGUF at
// modelPath, which `make model` fetches) steered by the profile shipped
// for it, 2 slots of 2048 tokens. It writes the profile and asmr.yaml
// into dir; header heads the ops file. It fails when modelPath does not
// exist.
func EmbeddedDefault(dir, modelPath, header string) (Default, error) {
	if _, err := os.Stat(modelPath); err != nil {
		return Default{}, fmt.Errorf("the default model: %w (run make model, or give -model)", err)
	}
	absModel, err := filepath.Abs(modelPath)
	if err != nil {
		return Default{}, err
	}
	d := Default{Ops: filepath.Join(dir, "asmr.yaml"), Model: absModel, Profile: filepath.Join(dir, profiles.Gemma3_270MName)}
	if err := os.WriteFile(d.Profile, profiles.Gemma3_270M, 0o644); err != nil {
		return Default{}, fmt.Errorf("write the shipped profile: %w", err)
	}
	return d, Write(d.Ops, header, Gemma(d.Model, d.Profile, 2, 2048))
}

func ptr[T any](v T) *T { return &v }
