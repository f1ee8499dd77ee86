package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/internal/strictyaml"
)

// OptionsFromMap reads options from a class's moduleConfig, as Weaviate
// hands it over: decoded JSON, numbers as float64 or json.Number. It is
// strict: an unknown key, a value of the wrong type or a value out of range
// is an error that names the key and the accepted form, because a
// misspelled "alphaCl" silently ignored would steer with the default. Every
// problem of the map is reported at once, in one *problems.Error (see OptionsError). Names of
// models and profiles need the ops file: Ops.OptionsFromMap checks them
// too.
func OptionsFromMap(m map[string]any, where string) (Options, error) {
	o, ps := optionsFromMap(m)
	if len(ps) > 0 {
		return Options{}, OptionsError(where, ps)
	}
	return o, nil
}

// optionsFromMap returns the options whose values could be read, and every
// problem of the map: unknown keys, wrong types and values out of range,
// sorted by key.
func optionsFromMap(m map[string]any) (Options, []string) {
	var o Options
	type problem struct{ key, text string }
	var ps []problem
	add := func(k, format string, args ...any) {
		ps = append(ps, problem{k, k + ": " + fmt.Sprintf(format, args...)})
	}
	// The fields by key, per kind of value.
	strs := map[string]*string{
		"model": &o.Model, "profile": &o.Profile, "direction": &o.Direction, "tokenScope": &o.TokenScope,
		"promptTemplate": &o.PromptTemplate, "answerLanguage": &o.AnswerLanguage,
	}
	floats := map[string]**float64{"alphaAC": &o.AlphaAC, "alphaCL": &o.AlphaCL, "temperature": &o.Temperature}
	ints := map[string]**int{"topK": &o.TopK, "maxTokens": &o.MaxTokens}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if v == nil {
			continue // JSON null: unset
		}
		switch {
		case strs[k] != nil:
			s, ok := v.(string)
			if !ok {
				add(k, "want a string, got %s", describe(v))
				continue
			}
			*strs[k] = s
		case floats[k] != nil:
			f, ok := number(v)
			if !ok {
				add(k, "want a number, got %s", describe(v))
				continue
			}
			*floats[k] = &f
		case ints[k] != nil:
			f, ok := number(v)
			if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
				add(k, "want a whole number, got %s", describe(v))
				continue
			}
			n := int(f)
			*ints[k] = &n
		case k == "seed":
			f, ok := number(v)
			if !ok || f != math.Trunc(f) || math.IsInf(f, 0) {
				add(k, "want a whole number from 0 to %d, got %s", uint64(MaxSeed), describe(v))
				continue
			}
			if f < 0 || f > MaxSeed {
				v := fmt.Sprint(f)
				if math.Abs(f) < 1<<63 {
					v = fmt.Sprint(int64(f)) // 4294967296, not 4.294967296e+09
				}
				ps = append(ps, problem{k, seedRangeProblem(v)})
				continue
			}
			n := int64(f)
			o.Seed = &n
		default:
			add(k, "unknown option%s; the options are %s", strictyaml.DidYouMean(k, OptionNames), strings.Join(OptionNames, ", "))
		}
	}
	// The values that were read: ranges, kinds, templates and languages.
	// Unset fields take the built-in defaults, which are valid, so every
	// problem here is one of m's.
	_, vps := o.resolve()
	for _, p := range vps {
		k, _, _ := strings.Cut(p, ":")
		ps = append(ps, problem{k, p})
	}
	slices.SortStableFunc(ps, func(a, b problem) int { return strings.Compare(a.key, b.key) })
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.text
	}
	return o, texts
}

// number accepts the numeric forms that reach a module from Weaviate's JSON
// decoding (float64, json.Number) and from Go callers (ints, float32).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case float64, json.Number:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}
