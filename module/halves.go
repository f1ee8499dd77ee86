package module

import (
	"github.com/tailor-inc/graphql/language/ast"
	"github.com/tailor-inc/graphql/language/parser"
)

// Weaviate's generate provider keeps one options value per provider for
// both halves of generate(singleResult: {...}, groupedResult: {...}): the
// asmr: {...} of the half written last overwrites the other's, and that
// value reaches both GenerateSingleResult and GenerateAllResults. Each half
// must run with its own options, so extractParams finds, in the query's
// source, the generate call whose asmr argument it was given, and reads
// both halves' asmr arguments from there.

// Argument names of Weaviate's generate field.
const (
	argSingleResult  = "singleResult"
	argGroupedResult = "groupedResult"
)

// generateHalves returns the asmr arguments of the singleResult and of the
// groupedResult of the generate call that holds field (nil for a half that
// has none), and ok false when field cannot be placed (no source location).
func generateHalves(field *ast.ObjectField) (single, grouped *ast.ObjectField, ok bool) {
	loc := field.GetLoc()
	if loc == nil || loc.Source == nil {
		return nil, nil, false
	}
	doc, err := parser.Parse(parser.ParseParams{Source: loc.Source})
	if err != nil {
		return nil, nil, false
	}
	var found bool
	var visit func(sel *ast.SelectionSet)
	visit = func(sel *ast.SelectionSet) {
		if sel == nil || found {
			return
		}
		for _, s := range sel.Selections {
			switch x := s.(type) {
			case *ast.Field:
				if s, g, hit := halvesAt(x, loc.Start); hit {
					single, grouped, found = s, g, true
					return
				}
				visit(x.SelectionSet)
			case *ast.InlineFragment:
				visit(x.SelectionSet)
			}
		}
	}
	for _, d := range doc.Definitions {
		switch x := d.(type) {
		case *ast.OperationDefinition:
			visit(x.SelectionSet)
		case *ast.FragmentDefinition:
			visit(x.SelectionSet)
		}
	}
	return single, grouped, found
}

// halvesAt reports whether f's singleResult or groupedResult argument holds
// an asmr argument starting at start, and returns both halves' asmr
// arguments.
func halvesAt(f *ast.Field, start int) (single, grouped *ast.ObjectField, hit bool) {
	for _, a := range f.Arguments {
		if a.Name == nil || (a.Name.Value != argSingleResult && a.Name.Value != argGroupedResult) {
			continue
		}
		obj, ok := a.Value.(*ast.ObjectValue)
		if !ok {
			continue
		}
		for _, of := range obj.Fields {
			if of.Name == nil || of.Name.Value != ProviderName {
				continue
			}
			if of.Loc != nil && of.Loc.Start == start {
				hit = true
			}
			if a.Name.Value == argSingleResult {
				single = of
			} else {
				grouped = of
			}
		}
	}
	return single, grouped, hit
}
