package main

import (
	"bytes"
	"fmt"
	"strings"
)

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
	imp, call := orderImportLine(pkg), orderCall()
	nImp, nCall := bytes.Count(src, []byte(imp)), bytes.Count(src, []byte(call))
	switch {
	case nImp == 1 && nCall == 1:
		if err := checkParses(OrderFile, src); err != nil {
			return nil, false, err
		}
		return src, false, nil
	case nImp != 0 || nCall != 0:
		return nil, false, fmt.Errorf("%s is partly patched (%d import lines, %d calls); start from a fresh copy (make clean)", OrderFile, nImp, nCall)
	case bytes.Contains(src, []byte(orderAlias)):
		return nil, false, fmt.Errorf("%s already uses the name %s; refusing to patch", OrderFile, orderAlias)
	}
	s := string(src)
	if err := once(OrderFile, s, orderImportAnchor, "import of modulecapabilities"); err != nil {
		return nil, false, err
	}
	if err := once(OrderFile, s, orderCallAnchor, "call of GenerateAllResults"); err != nil {
		return nil, false, err
	}
	i := strings.Index(s, orderImportAnchor) + len(orderImportAnchor)
	s = s[:i] + imp + s[i:]
	s = strings.Replace(s, orderCallAnchor, call, 1)
	out = []byte(s)
	if err := checkParses(OrderFile, out); err != nil {
		return nil, false, err
	}
	return out, true, nil
}
