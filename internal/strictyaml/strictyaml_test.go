package strictyaml

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDecode(t *testing.T) {
	type doc struct {
		A int `yaml:"a"`
	}
	var d doc
	if err := Decode([]byte("a: 1\n"), &d); err != nil || d.A != 1 {
		t.Fatalf("one document: %v, %+v", err, d)
	}
	if err := Decode([]byte("# only a comment\n"), &d); !errors.Is(err, ErrEmpty) {
		t.Errorf("comment only: %v, want ErrEmpty", err)
	}
	if err := Decode([]byte("a: 1\nb: 2\n"), &d); err == nil || !strings.Contains(err.Error(), "line 2: field b not found") {
		t.Errorf("unknown key: %v", err)
	}
	var second *SecondDocumentError
	if err := Decode([]byte("a: 1\n---\na: 2\n"), &d); !errors.As(err, &second) || second.Line != 2 || second.Err != nil || d.A != 1 {
		t.Errorf("second document: %v (%+v), first decoded %+v", err, second, d)
	}
	if err := Decode([]byte("a: 1\n---\n[\n"), &d); !errors.As(err, &second) || second.Err == nil {
		t.Errorf("invalid second document: %v", err)
	}
}

func TestCheck(t *testing.T) {
	type item struct {
		Threads int    `yaml:"threads"`
		Name    string `yaml:"name"`
	}
	type doc struct {
		Items map[string]*item `yaml:"items"`
		List  []int            `yaml:"list"`
	}
	var n yaml.Node
	src := "items:\n  a: {thread: 2, name: x}\n  b: {threads: two}\n  b: {}\nlist: [1, x, 3]\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	r, ok := Check(n.Content[0], reflect.TypeFor[doc]())
	if !ok {
		t.Fatal("not ok")
	}
	want := []string{
		`items.a.thread (line 2): unknown key (did you mean "threads"?); the keys here are threads, name`,
		`items.b.threads (line 3): want a whole number, got "two"`,
		`items.b (line 4): name repeated`,
		`list[1] (line 5): want a whole number, got "x"`,
	}
	if !slices.Equal(r.Problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(r.Problems, "\n"), strings.Join(want, "\n"))
	}
	if r.Lines["items.b"] != 3 || r.Lines["list[2]"] != 5 {
		t.Errorf("lines: %v", r.Lines)
	}
	if !slices.Equal(r.Dropped, []string{"items.b.threads", "list[1]"}) {
		t.Errorf("dropped: %v", r.Dropped)
	}
	// What is left decodes.
	var d doc
	if err := n.Content[0].Decode(&d); err != nil || len(d.List) != 3 || d.Items["b"].Threads != 0 {
		t.Errorf("mended document: %v, %+v", err, d)
	}
	if _, ok := Check(&yaml.Node{Kind: yaml.ScalarNode, Value: "x", Line: 1}, reflect.TypeFor[doc]()); ok {
		t.Error("a scalar for a struct is ok")
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"models", "profiles", "alphaCL"}
	for s, want := range map[string]string{"model": "models", "ALPHAcl": "alphaCL", "alphaCl": "alphaCL", "zzz": ""} {
		if got := Suggest(s, keys); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", s, got, want)
		}
	}
	if got := DidYouMean("profile", keys); got != ` (did you mean "profiles"?)` {
		t.Errorf("DidYouMean: %q", got)
	}
}
