package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"strings"
)

// edit is one change to a file of Weaviate: text goes before, after or in
// place of anchor, which must occur exactly once in the pristine file.
type edit struct {
	// what names the anchor in errors ("import of generative-ollama"),
	// pieces the inserted text in the partly-patched error ("import
	// lines").
	what, pieces string
	anchor, text string
	mode         editMode
}

type editMode int

const (
	insertAfter editMode = iota
	insertBefore
	replaceAnchor
)

// apply returns src (Weaviate's file) with edits applied in order; alias
// is the import name the edits introduce. changed is false when src is
// already patched exactly so (every edit's text there once). It fails when
// src is patched only in part, when alias is already a name in src, when
// an anchor is not found exactly once, or when the result does not parse.
func apply(file string, src []byte, alias string, edits []edit) (out []byte, changed bool, err error) {
	patched, untouched := 0, 0
	var counts []string
	for _, e := range edits {
		n := bytes.Count(src, []byte(e.text))
		switch n {
		case 0:
			untouched++
		case 1:
			patched++
		}
		counts = append(counts, fmt.Sprintf("%d %s", n, e.pieces))
	}
	switch {
	case patched == len(edits):
		if err := checkParses(file, src); err != nil {
			return nil, false, err
		}
		return src, false, nil
	case untouched != len(edits):
		return nil, false, fmt.Errorf("%s is partly patched (%s); start from a fresh copy (make clean)", file, strings.Join(counts, ", "))
	case bytes.Contains(src, []byte(alias+" ")) || bytes.Contains(src, []byte(alias+".")):
		return nil, false, fmt.Errorf("%s already uses the name %s for something else; refusing to patch", file, alias)
	}

	s := string(src)
	for _, e := range edits {
		if err := once(file, s, e.anchor, e.what); err != nil {
			return nil, false, err
		}
	}
	for _, e := range edits {
		i := strings.Index(s, e.anchor)
		switch e.mode {
		case insertAfter:
			i += len(e.anchor)
			s = s[:i] + e.text + s[i:]
		case insertBefore:
			s = s[:i] + e.text + s[i:]
		case replaceAnchor:
			s = s[:i] + e.text + s[i+len(e.anchor):]
		}
	}
	out = []byte(s)
	if err := checkParses(file, out); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func once(file, s, anchor, what string) error {
	if n := strings.Count(s, anchor); n != 1 {
		return fmt.Errorf("anchor (%s) found %d times in %s, want exactly 1: Weaviate changed; update cmd/weaviate-asmr/internal/patchweaviate\n\tanchor: %q", what, n, file, anchor)
	}
	return nil
}

func checkParses(file string, src []byte) error {
	if _, err := parser.ParseFile(token.NewFileSet(), file, src, parser.SkipObjectResolution); err != nil {
		return fmt.Errorf("patched %s does not parse: %w", file, err)
	}
	return nil
}
