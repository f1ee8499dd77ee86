package main

import "fmt"

// OrderFile is the file of Weaviate's generate provider that calls a
// generative module's GenerateAllResults. Weaviate hands the module each
// object's properties as a map, so the order of groupedResult's properties
// is lost on the way; PatchOrder puts the list on the call's context (see
// module/propertyorder).
const OrderFile = "usecases/modulecomponents/additional/generate/generate_result.go"

// The anchors of OrderFile: an import line after which ours goes, and the
// call of GenerateAllResults in generateForAllSearchResults, whose
// properties parameter is the groupedResult's list (nil when the request
// gave none). Each must occur exactly once.
const (
	orderImportAnchor = "\t\"github.com/weaviate/weaviate/entities/modulecapabilities\"\n"
	orderCallAnchor   = "\tgenerateResult, err := client.GenerateAllResults(ctx, propertiesForAllDocs, task, settings, debug, cfg)\n"
)

// orderAlias is the import name of module/propertyorder in OrderFile.
const orderAlias = "asmrpropertyorder"

func orderImportLine(pkg string) string {
	return fmt.Sprintf("\t%s %q // added by generative-asmr's patchweaviate\n", orderAlias, pkg)
}

// orderCall replaces orderCallAnchor.
func orderCall() string {
	return "\t// changed by generative-asmr's patchweaviate: the module gets the properties' order\n" +
		"\tgenerateResult, err := client.GenerateAllResults(" + orderAlias + ".WithGroupedProperties(ctx, properties), propertiesForAllDocs, task, settings, debug, cfg)\n"
}

// PatchOrder returns src (Weaviate's OrderFile) with an import of pkg
// (module/propertyorder) and its call wrapped around the context of
// GenerateAllResults. changed is false when src is already patched exactly
// so. It fails when an anchor is not found exactly once, when src is
// patched only in part, or when the result does not parse.
func PatchOrder(src []byte, pkg string) (out []byte, changed bool, err error) {
	return apply(OrderFile, src, orderAlias, []edit{
		{what: "import of modulecapabilities", pieces: "import lines", anchor: orderImportAnchor, text: orderImportLine(pkg), mode: insertAfter},
		{what: "call of GenerateAllResults", pieces: "calls", anchor: orderCallAnchor, text: orderCall(), mode: replaceAnchor},
	})
}
