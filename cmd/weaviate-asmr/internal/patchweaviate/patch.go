package main

import "fmt"

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
	return apply(PatchedFile, src, alias, []edit{
		{what: "import of generative-ollama", pieces: "import lines", anchor: importAnchor, text: importLine(pkg), mode: insertAfter},
		{what: "registration of generative-ollama", pieces: "registration blocks", anchor: registerAnchor, text: registerBlock(), mode: insertBefore},
	})
}
