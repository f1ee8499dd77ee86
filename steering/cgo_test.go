package steering

import (
	"reflect"
	"testing"

	"github.com/asmr-search/generative-asmr/steering/testmodel"
)

// TestBindingLayout guards the unsafe reads of the ollama binding's
// private fields (cgo.go): an ollama version that changes its structs
// fails here, not at the first load.
func TestBindingLayout(t *testing.T) {
	if err := checkBindingLayout(); err != nil {
		t.Fatal(err)
	}
	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{ContextSize: 128, Slots: 3})
	// The scheduler's one context holds every sequence's cells.
	if err := checkContextLayout(m.sched.c.ctx, m.model, 3*128); err != nil {
		t.Fatal(err)
	}
}

// TestBindingLayoutCheckFails shows that the layout checks catch what an
// ollama change would look like: a handle that is no longer the first
// field or has another type, and a context that does not report the model
// it is checked against.
func TestBindingLayoutCheckFails(t *testing.T) {
	type handle struct{ x [3]byte }
	want := reflect.TypeFor[*handle]()
	for _, tc := range []struct {
		outer any
		ok    bool
	}{
		{struct {
			c *handle
			n int
		}{}, true},
		{struct {
			n int
			c *handle
		}{}, false},
		{struct{ c *int }{}, false},
		{struct{ c handle }{}, false},
		{struct{}{}, false},
	} {
		err := checkFirstField(reflect.TypeOf(tc.outer), want)
		if (err == nil) != tc.ok {
			t.Errorf("checkFirstField(%T) = %v, want ok %v", tc.outer, err, tc.ok)
		}
	}

	spec := tinySpec(testmodel.F32)
	m := load(t, writeModel(t, spec, nil), Options{ContextSize: 128})
	other := load(t, writeModel(t, spec, nil), Options{ContextSize: 128})
	c := m.sched.c.ctx
	if err := checkContextLayout(c, other.model, 128); err == nil {
		t.Error("a context checked against another model passed")
	}
	if err := checkContextLayout(c, m.model, 1<<20); err == nil {
		t.Error("a context of 128 tokens checked as 1<<20 passed")
	}
}
