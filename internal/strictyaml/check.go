package strictyaml

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Report is what Check found in a document.
type Report struct {
	// Problems are the unknown keys, repeated keys and values of the wrong
	// type, each as "<key path> (line N): <what is wrong>", in document
	// order.
	Problems []string
	// Lines maps each key path ("models.tiny.threads", "languages[1]") to
	// the line of its key (of its item, in a list), for later problems
	// about the values.
	Lines map[string]int
	// Dropped lists the key paths whose values were reported and removed
	// (set to null, or to the zero value in a list), so that a later check
	// of the decoded value can leave them out instead of reporting them a
	// second time.
	Dropped []string
}

// Check walks the YAML node n against the Go type t that it will be decoded
// into (a struct's fields by their yaml tags, maps, slices, pointers,
// scalars, and types that decode themselves through yaml.Unmarshaler) and
// reports every unknown key (with the key it probably means, see
// DidYouMean, and the keys there are), repeated key, empty map name and
// value of the wrong type, each with its key path and line. yaml.v3's own
// errors name Go types and lines only, which does not tell a person which
// of twenty "threads" keys is wrong, and yaml.v3 stops at the first custom
// type that fails.
//
// Check also mends n so that the rest decodes and can be checked: unknown
// and repeated keys are removed, and a value of the wrong type is replaced
// by null (unset), its key path added to Report.Dropped. ok is false when
// n itself is of the wrong type (not a mapping for a struct, say); n cannot
// be decoded then.
func Check(n *yaml.Node, t reflect.Type) (r Report, ok bool) {
	c := &checker{Report: Report{Lines: map[string]int{}}, seen: map[aliasUse]aliasState{}}
	ok = c.check(n, t, "")
	return c.Report, ok
}

// checker is one walk of Check.
type checker struct {
	Report
	// seen holds the aliases expanded for a type, so that a document of
	// nested aliases costs one walk per anchor and a recursive one ends.
	seen map[aliasUse]aliasState
}

type aliasUse struct {
	n *yaml.Node
	t reflect.Type
}

type aliasState int

const (
	aliasUnseen aliasState = iota
	aliasChecking
	aliasGood
	aliasBad
)

// null is what a dropped value becomes: unset.
func null(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}
}

// zeroNode is the YAML of t's zero value.
func zeroNode(t reflect.Type, line int) *yaml.Node {
	var z yaml.Node
	if err := z.Encode(reflect.Zero(t).Interface()); err != nil {
		return null(line)
	}
	z.Line = line
	return &z
}

// check reports n's problems and returns false when n itself is of the
// wrong type, so that the caller drops it.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) bool {
	where := func() string {
		p := path
		if p == "" {
			p = "(top level)"
		}
		return fmt.Sprintf("%s (line %d)", p, n.Line)
	}
	bad := func(format string, args ...any) bool {
		c.Problems = append(c.Problems, where()+": "+fmt.Sprintf(format, args...))
		if path != "" {
			c.Dropped = append(c.Dropped, path)
		}
		return false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return bad("an alias without its anchor")
		}
		use := aliasUse{n.Alias, t}
		switch c.seen[use] {
		case aliasChecking: // a recursive alias, which yaml refuses to decode
			return bad("alias *%s contains itself", n.Value)
		case aliasGood:
			return true
		case aliasBad: // reported where the anchor was first used
			if path != "" {
				c.Dropped = append(c.Dropped, path)
			}
			return false
		}
		c.seen[use] = aliasChecking
		ok := c.check(n.Alias, t, path)
		c.seen[use] = aliasBad
		if ok {
			c.seen[use] = aliasGood
		}
		return ok
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true // null leaves the field unset
	}
	// Types that decode themselves: try them.
	if t == reflect.TypeFor[yaml.Node]() {
		return true
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			return bad("%s", Message(err))
		}
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.check(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping with keys %s, got %s", strings.Join(Keys(t), ", "), nodeKind(n))
		}
		c.checkStruct(n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping of names, got %s", nodeKind(n))
		}
		c.checkMap(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad("want a list, got %s", nodeKind(n))
		}
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			c.Lines[ip] = item.Line
			if !c.check(item, t.Elem(), ip) {
				// The zero value, not null, which yaml would leave out of
				// the list, shifting the indices of the items after it.
				n.Content[i] = zeroNode(t.Elem(), item.Line)
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return bad("want %s, got %s", kindWord(t), nodeKind(n))
		}
		v := reflect.New(t)
		// yaml.v3 truncates 1.5 into an int field without a word.
		isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
		if err := n.Decode(v.Interface()); err != nil || (isInt && n.Tag == "!!float") {
			return bad("want %s, got %q", kindWord(t), n.Value)
		}
		// yaml.v3 decodes any scalar into a string, quoting numbers and
		// booleans silently; a string field given `true` is almost always
		// a mistake (e.g. an unquoted "on").
		if t.Kind() == reflect.String && n.Tag == "!!bool" {
			return bad("want a string, got the boolean %s (quote it if you mean the text)", n.Value)
		}
	}
	return true
}

// checkStruct checks the mapping n against the fields of struct type t and
// removes its unknown and repeated keys.
func (c *checker) checkStruct(n *yaml.Node, t reflect.Type, path string) {
	keys := Keys(t)
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			fields[name] = f
		}
	}
	c.checkPairs(n, path, "key", func(k *yaml.Node, kp string) (reflect.Type, bool) {
		f, ok := fields[k.Value]
		if !ok {
			c.Problems = append(c.Problems, fmt.Sprintf("%s (line %d): unknown key%s; the keys here are %s",
				kp, k.Line, DidYouMean(k.Value, keys), strings.Join(keys, ", ")))
		}
		return f.Type, ok
	})
}

// checkMap checks the mapping n, whose keys are names, against map type t
// and removes its repeated and empty names.
func (c *checker) checkMap(n *yaml.Node, t reflect.Type, path string) {
	c.checkPairs(n, path, "name", func(k *yaml.Node, _ string) (reflect.Type, bool) {
		if k.Kind != yaml.ScalarNode || strings.TrimSpace(k.Value) == "" {
			c.Problems = append(c.Problems, fmt.Sprintf("%s (line %d): empty name; give each entry a name", path, k.Line))
			return nil, false
		}
		return t.Elem(), true
	})
}

// checkPairs checks the key/value pairs of mapping n at path. A key that
// repeats one before it is reported as "<what> repeated"; valueType
// returns the type of a key's value, or false when it has reported the
// key. Both kinds of key are removed; a value of the wrong type is nulled.
func (c *checker) checkPairs(n *yaml.Node, path, what string, valueType func(k *yaml.Node, kp string) (reflect.Type, bool)) {
	seen := map[string]bool{}
	content, kept := n.Content, n.Content[:0:0]
	for i := 0; i+1 < len(content); i += 2 {
		k, v := content[i], content[i+1]
		kp := join(path, k.Value)
		if seen[k.Value] {
			c.Problems = append(c.Problems, fmt.Sprintf("%s (line %d): %s repeated", kp, k.Line, what))
			continue
		}
		seen[k.Value] = true
		t, ok := valueType(k, kp)
		if !ok {
			continue
		}
		c.Lines[kp] = k.Line
		if !c.check(v, t, kp) {
			v = null(v.Line)
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlName is the key of struct field f in YAML, or "" when f is not read
// from YAML (unexported, or tagged "-" or without a name).
func yamlName(f reflect.StructField) string {
	name := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// Keys lists the YAML keys of struct type t, in field order.
func Keys(t reflect.Type) []string {
	var ks []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			ks = append(ks, name)
		}
	}
	return ks
}
