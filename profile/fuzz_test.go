package profile

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems/problemstest"
)

// FuzzParseProfile fuzzes what a person may hand-edit: a steering profile.
// `make fuzz` runs it for FUZZTIME; plain `go test` runs its seeds and the
// inputs kept under testdata/fuzz/ as regression cases. Beyond "no panic":
// an error has text (and each listed problem too); an accepted profile
// validates, fits its own model, yields its shifts, and reads the same
// after a round trip through Marshal.
func FuzzParseProfile(f *testing.F) {
	good, err := os.ReadFile("testdata/profile-tiny.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), "version: 1", "version: 7", 1)))
	f.Add([]byte(string(good) + "---\nversion: 1\n"))
	f.Add([]byte("version: 1\nkind: asmr-steering-profile\n"))
	f.Add([]byte(""))
	f.Add([]byte("version: 1\nkind: asmr-steering-profile\nmodel: {layers: 1, heads: 1, headDim: 2}\nattributes:\n  AC: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<18 {
			return
		}
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("ParseProfile returned an error and a profile")
			}
			problemstest.CheckText(t, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted profile does not validate: %v", err)
		}
		_ = p.Summary()
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("marshal an accepted profile: %v", err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("accepted profile refused after a round trip: %v\n%s", err, out)
		}
		out2, err := q.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip is not stable (%v):\n%s\n---\n%s", err, out, out2)
		}
		if err := p.CheckModel(p.Model); err != nil {
			t.Fatalf("profile does not fit its own model: %v", err)
		}
		for name := range p.Attributes {
			for _, kind := range []DirectionKind{DirectionProbe, DirectionMassMean} {
				if _, err := p.Shifts(name, kind, 1, 0); err != nil {
					problemstest.CheckText(t, err)
				}
			}
		}
	})
}
