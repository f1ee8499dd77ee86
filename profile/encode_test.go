package profile

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	p := tinyProfile()
	p.Model.Fingerprint = "sha256:" + strings.Repeat("ab", 32)
	data, q := throughYAML(t, p)
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip differs:\n%+v\n%+v", p, q)
	}
	// Stable: marshalling again gives the same bytes.
	data2, err := q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, data2) {
		t.Fatal("second marshal differs")
	}
	// The accuracy map is one flow row per layer, commented.
	if !strings.Contains(string(data), "] # layer 2\n") {
		t.Fatalf("accuracy rows not in flow style with layer comments:\n%s", data)
	}
}

func TestVectorBase64Exact(t *testing.T) {
	if got := EncodeVector([]float32{1}); got != "AACAPw==" {
		t.Fatalf("EncodeVector(1) = %q, want little-endian float32 AACAPw==", got)
	}
	special := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 1.0 / 3, math.SmallestNonzeroFloat32,
		-math.SmallestNonzeroFloat32, math.MaxFloat32, 1e-38, 0.1, 123456.789,
		math.Float32frombits(0x7fc00001), // a NaN payload, kept bit for bit
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		special = append(special, math.Float32frombits(r.Uint32()))
	}
	got, err := DecodeVector(EncodeVector(special))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(special) {
		t.Fatalf("len %d, want %d", len(got), len(special))
	}
	for i := range special {
		if math.Float32bits(got[i]) != math.Float32bits(special[i]) {
			t.Fatalf("value %d: bits %08x, want %08x", i, math.Float32bits(got[i]), math.Float32bits(special[i]))
		}
	}
	// Through YAML too.
	p := tinyProfile()
	v := p.Attributes[AttributeAC].Heads[0].Probe.Vector
	v[0] = math.Nextafter32(v[0], 2) // a value with no short decimal form
	_, q := throughYAML(t, p)
	if w := q.Attributes[AttributeAC].Heads[0].Probe.Vector; !slices.Equal(w, v) {
		t.Fatal("vector changed through YAML")
	}
	for _, bad := range []string{"not base64!", "AACA"} {
		if _, err := DecodeVector(bad); err == nil {
			t.Errorf("DecodeVector(%q): no error", bad)
		}
	}
}

// throughYAML returns p marshalled, and parsed again.
func throughYAML(t *testing.T, p *Profile) ([]byte, *Profile) {
	t.Helper()
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, q
}
