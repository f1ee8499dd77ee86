package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"strings"
)

// PatchedFile is the file of the Weaviate module that registers modules.
const PatchedFile = "adapters/handlers/rest/configure_api.go"

// The anchors are lines of Weaviate's configure_api.go next to which our
// lines go: the import of generative-ollama and the start of its
// registration block in registerModules. Each must occur exactly once.
const (
	importAnchor   = "\tmodgenerativeollama \"github.com/weaviate/weaviate/modules/generative-ollama\"\n"
	registerAnchor = "\tif _, ok := enabledModules[modgenerativeollama.Name]; ok {\n"
)

// alias is the import name of our module package in the patched file.
const alias = "modasmr"

// importLine is the import inserted after importAnchor.
func importLine(pkg string) string {
	return fmt.Sprintf("\t%s %q // added by generative-asmr's patchweaviate\n", alias, pkg)
}

// registerBlock is the registration inserted before registerAnchor; it
// mirrors the blocks of Weaviate's own modules.
func registerBlock() string {
	return "\t// added by generative-asmr's patchweaviate\n" +
		"\tif _, ok := enabledModules[" + alias + ".Name]; ok {\n" +
		"\t\tappState.Modules.Register(" + alias + ".New())\n" +
		"\t\tappState.Logger.\n" +
		"\t\t\tWithField(\"action\", \"startup\").\n" +
		"\t\t\tWithField(\"module\", " + alias + ".Name).\n" +
		"\t\t\tDebug(\"enabled module\")\n" +
		"\t}\n\n"
}

// Patch returns src (Weaviate's configure_api.go) with an import of pkg and
// a registration of pkg's module (pkg must export Name and New()) inserted.
// changed is false when src is already patched exactly so. It fails when an
// anchor is not found exactly once, when src is patched only in part or
// with something else, or when the result does not parse.
func Patch(src []byte, pkg string) (out []byte, changed bool, err error) {
	imp, blk := importLine(pkg), registerBlock()
	nImp, nBlk := bytes.Count(src, []byte(imp)), bytes.Count(src, []byte(blk))
	switch {
	case nImp == 1 && nBlk == 1:
		if err := checkParses(PatchedFile, src); err != nil {
			return nil, false, err
		}
		return src, false, nil
	case nImp != 0 || nBlk != 0:
		return nil, false, fmt.Errorf("%s is partly patched (%d import lines, %d registration blocks of %s); start from a fresh copy (make clean)", PatchedFile, nImp, nBlk, pkg)
	case bytes.Contains(src, []byte(alias+" ")) || bytes.Contains(src, []byte(alias+".")):
		return nil, false, fmt.Errorf("%s already uses the name %s for something else; refusing to patch", PatchedFile, alias)
	}

	s := string(src)
	if err := once(PatchedFile, s, importAnchor, "import of generative-ollama"); err != nil {
		return nil, false, err
	}
	if err := once(PatchedFile, s, registerAnchor, "registration of generative-ollama"); err != nil {
		return nil, false, err
	}
	i := strings.Index(s, importAnchor) + len(importAnchor)
	s = s[:i] + imp + s[i:]
	j := strings.Index(s, registerAnchor)
	s = s[:j] + blk + s[j:]

	out = []byte(s)
	if err := checkParses(PatchedFile, out); err != nil {
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
