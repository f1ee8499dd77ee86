package module

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
	"github.com/weaviate/weaviate/entities/moduletools"
	"github.com/weaviate/weaviate/entities/schema"

	"github.com/asmr-search/generative-asmr/config"
)

// passageTexts renders each retrieved object as one passage, best ranked
// first (Weaviate's order). An object with one text property is its value;
// with several, "name: value" lines, so that the reader sees what each value
// is (title, body, ...), in the order of order (the groupedResult's
// properties as the request listed them) and then, for names order lacks, in
// name order. Objects without text are skipped.
func passageTexts(props []*modulecapabilities.GenerateProperties, order []string) []string {
	var out []string
	for _, p := range props {
		if p == nil || len(p.Text) == 0 {
			continue
		}
		var fields []config.PassageField
		for _, k := range propertyNames(p.Text, order) {
			fields = append(fields, config.PassageField{Name: k, Value: p.Text[k]})
		}
		if text := config.PassageText(fields); text != "" {
			out = append(out, text)
		}
	}
	return out
}

// propertyNames returns the keys of text: first those order lists, in its
// order, then the rest sorted.
func propertyNames(text map[string]string, order []string) []string {
	names := make([]string, 0, len(text))
	seen := make(map[string]bool, len(text))
	for _, k := range order {
		if _, ok := text[k]; ok && !seen[k] {
			names, seen[k] = append(names, k), true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(text)) {
		if !seen[k] {
			names = append(names, k)
		}
	}
	return names
}

// weaviateProperty is Weaviate's pattern for {property} references in
// prompts (usecases/modulecomponents/generative).
var weaviateProperty = regexp.MustCompile(`{([\w\s]*?)}`)

// fillTask replaces {property} references in a groupedResult task exactly
// as Weaviate's generative.MakeTaskPrompt does: with the value from the
// first object that has the property, or with the bare name when none has
// it. MakeTaskPrompt itself also appends every object as JSON, which this
// module replaces with numbered passages fitted to the context.
func fillTask(texts []map[string]string, task string) string {
	return weaviateProperty.ReplaceAllStringFunc(task, func(match string) string {
		match = strings.Trim(match, "{}")
		for _, t := range texts {
			if v, ok := t[match]; ok {
				return v
			}
		}
		return match
	})
}

// questionText is the text whose language is the question's: the prompt as
// the user wrote it, without {property} references, whose values come from
// the stored objects and may be in any language (that is the multilingual
// retrieval setting ASMR is about). When nothing but references is left
// (prompt "{question}"), the filled-in prompt is used instead.
func questionText(template, filled string) string {
	stripped := strings.Join(strings.Fields(weaviateProperty.ReplaceAllString(template, " ")), " ")
	if letters(stripped) >= 3 {
		return stripped
	}
	return filled
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// refsInPrompt refuses {property} references to cross-reference
// properties, whose values Weaviate does not hand to generative modules
// (it reported "has empty value"), naming every such property at once.
func refsInPrompt(cfg moduletools.ClassConfig, prompt string) error {
	if cfg == nil {
		return nil
	}
	types := cfg.PropertiesDataTypes()
	var refs []string
	for _, m := range weaviateProperty.FindAllStringSubmatch(prompt, -1) {
		name := strings.TrimSpace(m[1])
		if types[name] == schema.DataTypeCRef && !slices.Contains(refs, name) {
			refs = append(refs, name)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return fmt.Errorf("the prompt uses {%s}, a cross-reference property: generate prompts can use the object's own properties only (text, numbers, dates, ...), not the objects it references; copy the text you need into a property of this class",
		strings.Join(refs, "}, {"))
}
