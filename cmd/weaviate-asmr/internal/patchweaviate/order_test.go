package main

import (
	"bytes"
	"strings"
	"testing"
)

const orderPkg = "github.com/asmr-search/generative-asmr/module/propertyorder"

// fakeOrder is a minimal generate_result.go with both anchors.
const fakeOrder = `package generate

import (
	"context"

	"github.com/weaviate/weaviate/entities/modulecapabilities"
)

func (p *GenerateProvider) generateForAllSearchResults(ctx context.Context, properties []string, client modulecapabilities.GenerativeClient) {
	var propertiesForAllDocs []*modulecapabilities.GenerateProperties
	generateResult, err := client.GenerateAllResults(ctx, propertiesForAllDocs, task, settings, debug, cfg)
	_, _ = generateResult, err
}
`

func TestPatchOrderWrapsTheContext(t *testing.T) {
	out, changed, err := PatchOrder([]byte(fakeOrder), orderPkg)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	s := string(out)
	for _, want := range []string{
		orderImportAnchor + orderImportLine(orderPkg),
		"client.GenerateAllResults(asmrpropertyorder.WithGroupedProperties(ctx, properties), propertiesForAllDocs,",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("patched file lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, orderCallAnchor) {
		t.Errorf("the original call is still there:\n%s", s)
	}
	again, changed, err := PatchOrder(out, orderPkg)
	if err != nil || changed || !bytes.Equal(again, out) {
		t.Errorf("second patch: changed %v, err %v", changed, err)
	}
}

func TestPatchOrderFailsLoudly(t *testing.T) {
	patched, _, err := PatchOrder([]byte(fakeOrder), orderPkg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, src, want string }{
		{"call moved", strings.Replace(fakeOrder, "(ctx, propertiesForAllDocs", "(ctx2, propertiesForAllDocs", 1), "call of GenerateAllResults"},
		{"import moved", strings.Replace(fakeOrder, orderImportAnchor, "", 1), "import of modulecapabilities"},
		{"partly patched", strings.Replace(string(patched), orderImportLine(orderPkg), "", 1), "partly patched"},
		{"name taken", strings.Replace(fakeOrder, "var propertiesForAllDocs", "asmrpropertyorder := 1\n\tvar propertiesForAllDocs", 1), "already uses the name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := PatchOrder([]byte(c.src), orderPkg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// TestPatchOrderPinnedWeaviate patches the real file of the Weaviate
// version in go.mod, so a version bump that moves the call fails here.
func TestPatchOrderPinnedWeaviate(t *testing.T) {
	if _, changed, err := PatchOrder(pinnedWeaviateFile(t, OrderFile), orderPkg); err != nil || !changed {
		t.Errorf("changed %v, err %v", changed, err)
	}
}
