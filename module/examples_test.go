package module

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/tailor-inc/graphql/language/ast"
	"github.com/tailor-inc/graphql/language/parser"
	"github.com/weaviate/weaviate/entities/models"
	"github.com/weaviate/weaviate/usecases/modulecomponents/additional/generate"

	"github.com/asmr-search/generative-asmr/config"
)

// findGenerate returns the arguments of the first `generate` field in doc.
func findGenerate(sel *ast.SelectionSet) []*ast.Argument {
	if sel == nil {
		return nil
	}
	for _, s := range sel.Selections {
		f, ok := s.(*ast.Field)
		if !ok {
			continue
		}
		if f.Name.Value == "generate" {
			return f.Arguments
		}
		if args := findGenerate(f.SelectionSet); args != nil {
			return args
		}
	}
	return nil
}

// TestExamplesAreValid checks that the documented request shapes work with
// the tiny example configuration: examples/class.json passes class
// validation, and the asmr options of examples/query-*.graphql are
// extracted by Weaviate's generate provider and resolve without error.
func TestExamplesAreValid(t *testing.T) {
	for _, name := range config.EnvNames {
		t.Setenv(name, "")
	}
	ops, err := config.LoadOps("../examples/asmr-tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ops.Models {
		f := false
		m.Preload = &f // the example's model file need not exist here
	}
	logger, _ := logtest.NewNullLogger()
	m := New()
	if err := m.initWith(ops, logger); err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	data, err := os.ReadFile("../examples/class.json")
	if err != nil {
		t.Fatal(err)
	}
	var class models.Class
	if err := json.Unmarshal(data, &class); err != nil {
		t.Fatalf("class.json: %v", err)
	}
	settings := class.ModuleConfig.(map[string]any)[Name].(map[string]any)
	cfg := classConfig{settings: settings}
	if err := m.ValidateClass(context.Background(), &class, cfg); err != nil {
		t.Errorf("class.json: %v", err)
	}

	provider := generate.NewGeneric(m.AdditionalGenerativeProperties(), ProviderName, logrus.New())
	for _, file := range []string{"../examples/query-single.graphql", "../examples/query-grouped.graphql"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := parser.Parse(parser.ParseParams{Source: string(src)})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		args := findGenerate(doc.Definitions[0].(*ast.OperationDefinition).SelectionSet)
		if args == nil {
			t.Fatalf("%s: no generate field", file)
		}
		params := provider.ExtractAdditionalFn(args, &class).(*generate.Params)
		p, ok := params.Options[ProviderName].(Params)
		if !ok || p.Err != nil || p.Options.IsZero() {
			t.Fatalf("%s: asmr options not extracted: %+v", file, params.Options)
		}
		class, _ := classOptions(ops, cfg)
		if _, err := ops.Resolve("query asmr options", class, p.Options); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if strings.Contains(file, "single") && (params.Prompt == nil || !params.Debug) {
			t.Errorf("%s: prompt/debug not extracted", file)
		}
	}
}
