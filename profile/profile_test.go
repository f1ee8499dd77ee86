package profile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

var update = flag.Bool("update", false, "rewrite testdata/profile-tiny.yaml from tinyProfile")

const tinyFixture = "testdata/profile-tiny.yaml"

// tinyModel is the shape of the fixture: 3 layers x 4 heads x d_h 32.
func tinyModel() ModelIdentity {
	return ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32, File: "tiny.gguf"}
}

// unitVector returns a deterministic random unit vector.
func unitVector(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	var ss float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	norm := math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// tinyAttribute makes an attribute with a deterministic accuracy map (values
// k/40, as a 40-prompt validation split gives) and the top nHeads heads.
func tinyAttribute(r *rand.Rand, m ModelIdentity, desired, desc string, nHeads int) *Attribute {
	a := &Attribute{
		Desired: desired,
		Data: DataInfo{
			Description: desc,
			Samples:     200, Positive: 100, Negative: 100,
			Split: "4:1", Seed: 1,
		},
	}
	type cand struct {
		l, h int
		acc  float64
	}
	var cands []cand
	for l := range m.Layers {
		row := make([]float64, m.Heads)
		for h := range row {
			row[h] = float64(20+r.IntN(21)) / 40 // 0.5 .. 1
			cands = append(cands, cand{l, h, row[h]})
		}
		a.Accuracy = append(a.Accuracy, row)
	}
	slices.SortStableFunc(cands, func(x, y cand) int {
		switch {
		case x.acc > y.acc:
			return -1
		case x.acc < y.acc:
			return 1
		}
		return 0
	})
	for _, c := range cands[:nHeads] {
		a.Heads = append(a.Heads, HeadEntry{
			Layer: c.l, Head: c.h, Accuracy: c.acc,
			Probe:    Direction{Sigma: 0.5 + r.Float64(), Vector: unitVector(r, m.HeadDim)},
			MassMean: Direction{Sigma: 0.5 + r.Float64(), Vector: unitVector(r, m.HeadDim)},
		})
	}
	return a
}

// tinyProfile is the fixture profile: deterministic (PCG), valid, both
// attributes.
func tinyProfile() *Profile {
	r := rand.New(rand.NewPCG(1, 2))
	m := tinyModel()
	p := New(m, "asmr probe (test fixture)")
	p.Attributes[AttributeAC] = tinyAttribute(r, m, "answer present",
		"synthetic (question, passage) pairs; passage contains the answer = desired", 5)
	p.Attributes[AttributeCL] = tinyAttribute(r, m, "same language",
		"synthetic sentence pairs; both sentences in the same language = desired", 4)
	return p
}

func cloneProfile(p *Profile) *Profile {
	c := *p
	c.Attributes = map[string]*Attribute{}
	for k, a := range p.Attributes {
		if a == nil {
			c.Attributes[k] = nil
			continue
		}
		c.Attributes[k] = a.clone()
	}
	return &c
}

func TestTinyFixtureUpToDate(t *testing.T) {
	p := tinyProfile()
	if *update {
		if err := p.Save(tinyFixture); err != nil {
			t.Fatal(err)
		}
	}
	want, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(tinyFixture)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestTinyFixture -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go test ./config -run TestTinyFixture -update", tinyFixture)
	}
	loaded, err := Load(tinyFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, p) {
		t.Fatal("fixture does not load back to tinyProfile()")
	}
	if err := loaded.CheckModel(ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32}); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	p := tinyProfile()
	p.Model.Fingerprint = "sha256:" + strings.Repeat("ab", 32)
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
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
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if w := q.Attributes[AttributeAC].Heads[0].Probe.Vector; !slices.Equal(w, v) {
		t.Fatal("vector changed through YAML")
	}
	for _, bad := range []string{"not base64!", "AACA"} {
		if _, err := DecodeVector(bad); err == nil {
			t.Errorf("DecodeVector(%q): no error", bad)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	ac := func(p *Profile) *Attribute { return p.Attributes[AttributeAC] }
	cases := []struct {
		name   string
		mutate func(p *Profile)
		want   []string // substrings of the error, the first is the path
	}{
		{"version missing", func(p *Profile) { p.Version = 0 }, []string{"version: missing"}},
		{"version newer", func(p *Profile) { p.Version = 2 }, []string{"version: 2 is newer", "upgrade asmr", "asmr probe"}},
		{"version older", func(p *Profile) { p.Version = -1 }, []string{"version: -1 is older", "regenerate"}},
		{"kind", func(p *Profile) { p.Kind = "other" }, []string{"kind: is \"other\""}},
		{"architecture", func(p *Profile) { p.Model.Architecture = "" }, []string{"model.architecture: missing"}},
		{"layers", func(p *Profile) { p.Model.Layers = 0 }, []string{"model.layers: 0, must be > 0"}},
		{"heads", func(p *Profile) { p.Model.Heads = -1 }, []string{"model.heads: -1"}},
		{"headDim", func(p *Profile) { p.Model.HeadDim = 0 }, []string{"model.headDim: 0"}},
		{"fingerprint", func(p *Profile) { p.Model.Fingerprint = "md5:abc" }, []string{"model.fingerprint:"}},
		{"no attributes", func(p *Profile) { p.Attributes = nil }, []string{"attributes: none"}},
		{"nil attribute", func(p *Profile) { p.Attributes["XY"] = nil }, []string{"attributes.XY: empty"}},
		{"attribute name", func(p *Profile) { p.Attributes["a b"] = ac(p) }, []string{"attributes.a b: attribute name"}},
		{"desired", func(p *Profile) { ac(p).Desired = " " }, []string{"attributes.AC.desired: missing"}},
		{"data counts", func(p *Profile) { ac(p).Data.Positive = 7 }, []string{"attributes.AC.data: positive 7 + negative 100 != samples 200"}},
		{"data negative", func(p *Profile) { ac(p).Data.Samples = -1 }, []string{"attributes.AC.data: negative counts"}},
		{"accuracy layers", func(p *Profile) { ac(p).Accuracy = ac(p).Accuracy[:2] }, []string{"attributes.AC.accuracy: has 2 layers, want 3"}},
		{"accuracy heads", func(p *Profile) { ac(p).Accuracy[1] = ac(p).Accuracy[1][:3] }, []string{"attributes.AC.accuracy[1]: has 3 heads, want 4"}},
		{"accuracy range", func(p *Profile) { ac(p).Accuracy[2][3] = 1.5 }, []string{"attributes.AC.accuracy[2][3]: 1.5 is not in [0,1]"}},
		{"accuracy NaN", func(p *Profile) { ac(p).Accuracy[0][0] = math.NaN() }, []string{"attributes.AC.accuracy[0][0]: NaN"}},
		{"accuracy many", func(p *Profile) {
			for _, row := range ac(p).Accuracy {
				for h := range row {
					row[h] = -1
				}
			}
		}, []string{"attributes.AC.accuracy: 9 more values not in [0,1]"}},
		{"no heads", func(p *Profile) { ac(p).Heads = nil }, []string{"attributes.AC.heads: no heads selected"}},
		{"layer range", func(p *Profile) { ac(p).Heads[1].Layer = 3 }, []string{"attributes.AC.heads[1].layer: 3 out of range [0,3)"}},
		{"head range", func(p *Profile) { ac(p).Heads[2].Head = -1 }, []string{"attributes.AC.heads[2].head: -1 out of range [0,4)"}},
		{"duplicate", func(p *Profile) {
			h := ac(p).Heads
			h[1].Layer, h[1].Head, h[1].Accuracy = h[0].Layer, h[0].Head, h[0].Accuracy
		}, []string{"attributes.AC.heads[1]: layer", "already selected at heads[0]"}},
		{"unsorted", func(p *Profile) {
			h := ac(p).Heads
			h[3], h[4] = h[4], h[3]
			// make them differ, keeping the map consistent
			ac(p).Accuracy[h[3].Layer][h[3].Head] = 0.5
			h[3].Accuracy = 0.5
			ac(p).Accuracy[h[4].Layer][h[4].Head] = 0.6
			h[4].Accuracy = 0.6
		}, []string{"attributes.AC.heads[4].accuracy: 0.6 is higher than heads[3]'s 0.5"}},
		{"accuracy disagrees", func(p *Profile) { ac(p).Heads[0].Accuracy -= 1e-3 }, []string{"attributes.AC.heads[0].accuracy:", "differs from accuracy["}},
		{"head accuracy range", func(p *Profile) { ac(p).Heads[0].Accuracy = 2 }, []string{"attributes.AC.heads[0].accuracy: 2 is not in [0,1]"}},
		{"direction length", func(p *Profile) {
			d := &p.Attributes[AttributeCL].Heads[3].Probe
			d.Vector = d.Vector[:31]
		}, []string{"attributes.CL.heads[3].probe.direction: has 31 values, want 32"}},
		{"direction empty", func(p *Profile) { ac(p).Heads[0].MassMean.Vector = nil }, []string{"attributes.AC.heads[0].massMean.direction: has 0 values"}},
		{"direction not unit", func(p *Profile) {
			v := ac(p).Heads[0].MassMean.Vector
			for i := range v {
				v[i] *= 2
			}
		}, []string{"attributes.AC.heads[0].massMean.direction: norm 2"}},
		{"direction NaN", func(p *Profile) { ac(p).Heads[1].Probe.Vector[5] = float32(math.NaN()) }, []string{"attributes.AC.heads[1].probe.direction[5]: NaN is not finite"}},
		{"direction Inf", func(p *Profile) { ac(p).Heads[1].Probe.Vector[6] = float32(math.Inf(-1)) }, []string{"attributes.AC.heads[1].probe.direction[6]: -Inf is not finite"}},
		{"sigma zero", func(p *Profile) { ac(p).Heads[2].Probe.Sigma = 0 }, []string{"attributes.AC.heads[2].probe.sigma: 0, must be finite and > 0"}},
		{"sigma Inf", func(p *Profile) { ac(p).Heads[2].MassMean.Sigma = math.Inf(1) }, []string{"attributes.AC.heads[2].massMean.sigma: +Inf"}},
		{"sigma NaN", func(p *Profile) { ac(p).Heads[2].MassMean.Sigma = math.NaN() }, []string{"attributes.AC.heads[2].massMean.sigma: NaN"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := cloneProfile(tinyProfile())
			c.mutate(p)
			err := p.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			var ve *problems.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *problems.Error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			// Marshal and Save refuse an invalid profile.
			if _, err := p.Marshal(); err == nil {
				t.Error("Marshal accepted an invalid profile")
			}
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	p := tinyProfile()
	p.Kind = "x"
	p.Attributes[AttributeAC].Heads[0].Probe.Sigma = -1
	p.Attributes[AttributeCL].Heads[1].MassMean.Vector[0] += 1
	err := p.Validate()
	var ve *problems.Error
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	for _, w := range []string{"3 problems", "kind:", "attributes.AC.heads[0].probe.sigma", "attributes.CL.heads[1].massMean.direction: norm"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if err := (*Profile)(nil).Validate(); err == nil {
		t.Error("nil profile validated")
	}
}

func TestParseUnknownKeys(t *testing.T) {
	data, err := tinyProfile().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	cases := []struct{ name, old, new, want string }{
		{"top level", "kind: ", "colour: red\nkind: ", "field colour not found"},
		{"model", "  headDim: 32\n", "  headDim: 32\n  headDims: 32\n", "field headDims not found"},
		{"attribute", "    desired: answer present\n", "    desired: answer present\n    desire: x\n", "field desire not found"},
		{"data", "      split: \"4:1\"\n", "      split: \"4:1\"\n      spilt: x\n", "field spilt not found"},
		{"head", "      - layer: ", "      - lyer: 0\n        layer: ", "field lyer not found"},
		{"direction", "          sigma: ", "          sgima: 1\n          sigma: ", "field sgima not found in direction"},
		{"repeated direction key", "          sigma: ", "          sigma: 1\n          sigma: ", `key "sigma" repeated`},
		{"bad base64", "direction: ", "direction: '!!!'\n          x: ", "not valid base64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(text, c.old) {
				t.Fatalf("fixture text has no %q", c.old)
			}
			bad := strings.Replace(text, c.old, c.new, 1)
			_, err := Parse([]byte(bad))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not contain %q: %v", c.want, err)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error names no line: %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good, err := tinyProfile().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ in, want string }{
		"empty":        {"", "empty"},
		"comment only": {"# nothing\n", "empty"},
		"two docs":     {string(good) + "---\nversion: 1\n", "more than one YAML document"},
		"not a map":    {"- 1\n", "parse steering profile"},
		"wrong type":   {strings.Replace(string(good), "layers: 3", "layers: three", 1), "parse steering profile"},
		"direction scalar": {strings.Replace(string(good), "probe:\n", "probe: 3\n        _probe:\n", 1),
			"a direction must be a mapping"},
		"invalid":               {strings.Replace(string(good), "headDim: 32", "headDim: 16", 1), "has 32 values, want 16 (model.headDim)"},
		"new version":           {strings.Replace(string(good), "version: 1", "version: 7", 1), "version: 7 is newer"},
		"new version, new keys": {strings.Replace(string(good), "version: 1", "version: 2\nscope: all", 1), "version: 2 is newer than this build reads (1): upgrade asmr"},
		"old version":           {strings.Replace(string(good), "version: 1", "version: -3", 1), "regenerate the profile with `asmr probe`"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `load profile "`+path+`"`) {
		t.Fatalf("missing file: %v", err)
	}
	p := tinyProfile()
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("saved profile loads differently")
	}
	// An invalid profile is not written, and the old file stays.
	bad := cloneProfile(p)
	bad.Model.HeadDim = 7
	if err := bad.Save(path); err == nil || !strings.Contains(err.Error(), `save profile "`+path+`"`) {
		t.Fatalf("saving an invalid profile: %v", err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("old file damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	// Errors from parsing name the file.
	if err := os.WriteFile(path, []byte("version: 1\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `load profile "`+path+`"`) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("bad file: %v", err)
	}
	// Save into a missing folder fails cleanly.
	if err := p.Save(filepath.Join(dir, "no", "such", "p.yaml")); err == nil {
		t.Fatal("save into a missing folder succeeded")
	}
}

func TestCheckModel(t *testing.T) {
	fpA := "sha256:" + strings.Repeat("a", 64)
	fpB := "sha256:" + strings.Repeat("b", 64)
	p := tinyProfile()
	p.Model.Fingerprint = fpA
	same := ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32}
	if err := p.CheckModel(same); err != nil {
		t.Fatalf("no fingerprint on the model: %v", err)
	}
	same.Fingerprint = fpA
	same.File = "renamed.gguf"
	if err := p.CheckModel(same); err != nil {
		t.Fatalf("same model: %v", err)
	}

	other := ModelIdentity{Architecture: "llama", Layers: 22, Heads: 32, HeadDim: 64, File: "tinyllama.gguf"}
	err := p.CheckModel(other)
	if !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("shape mismatch: %v", err)
	}
	for _, w := range []string{"llama, 3 layers x 4 heads x d_h 32", "llama, 22 layers x 32 heads x d_h 64", "tinyllama.gguf", "re-run `asmr probe` on this model"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("shape mismatch error does not contain %q: %v", w, err)
		}
	}
	for _, m := range []ModelIdentity{
		{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 16},
		{Architecture: "llama", Layers: 3, Heads: 8, HeadDim: 32},
		{Architecture: "qwen2", Layers: 3, Heads: 4, HeadDim: 32},
	} {
		if err := p.CheckModel(m); !errors.Is(err, ErrModelMismatch) {
			t.Errorf("%v: %v", m, err)
		}
	}
	// Unknown architecture on one side compares shapes only.
	if err := p.CheckModel(ModelIdentity{Layers: 3, Heads: 4, HeadDim: 32}); err != nil {
		t.Errorf("no architecture: %v", err)
	}

	err = p.CheckModel(ModelIdentity{Architecture: "llama", Layers: 3, Heads: 4, HeadDim: 32, Fingerprint: fpB, File: "q4.gguf"})
	if !errors.Is(err, ErrFingerprintMismatch) || errors.Is(err, ErrModelMismatch) {
		t.Fatalf("fingerprint mismatch: %v", err)
	}
	for _, w := range []string{"another GGUF", fpA, fpB, "tiny.gguf", "q4.gguf", "re-run `asmr probe` on this model"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("fingerprint mismatch error does not contain %q: %v", w, err)
		}
	}
}

func TestMerge(t *testing.T) {
	full := tinyProfile()
	acOnly := cloneProfile(full)
	delete(acOnly.Attributes, AttributeCL)
	clOnly := cloneProfile(full)
	delete(clOnly.Attributes, AttributeAC)
	clOnly.Model.Fingerprint = "sha256:" + strings.Repeat("c", 64)
	clOnly.CreatedBy = "asmr probe (other run)"

	m, err := Merge(acOnly, clOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attributes) != 2 {
		t.Fatalf("merged attributes: %v", slices.Sorted(maps.Keys(m.Attributes)))
	}
	if !reflect.DeepEqual(m.Attributes, full.Attributes) {
		t.Fatal("merged attributes differ from the originals")
	}
	if m.Model.Fingerprint != clOnly.Model.Fingerprint {
		t.Errorf("fingerprint %q not taken from the profile that has one", m.Model.Fingerprint)
	}
	if m.CreatedBy != "asmr probe (test fixture); asmr probe (other run)" {
		t.Errorf("createdBy %q", m.CreatedBy)
	}
	if m.SignConvention != DefaultSignConvention {
		t.Errorf("signConvention %q", m.SignConvention)
	}
	// Deep copy: changing the result leaves the inputs alone.
	m.Attributes[AttributeAC].Heads[0].Probe.Vector[0] = 42
	m.Attributes[AttributeAC].Accuracy[0][0] = -7
	if acOnly.Attributes[AttributeAC].Heads[0].Probe.Vector[0] == 42 || acOnly.Attributes[AttributeAC].Accuracy[0][0] == -7 {
		t.Error("merge result aliases its input")
	}
	// One profile: a copy.
	if one, err := Merge(full); err != nil || !reflect.DeepEqual(one, full) {
		t.Errorf("Merge(one): %v", err)
	}

	_, err = Merge(acOnly, full)
	if err == nil || !strings.Contains(err.Error(), `attribute "AC" is defined by both profile 1 and profile 2`) {
		t.Fatalf("clash: %v", err)
	}

	otherModel := cloneProfile(clOnly)
	otherModel.Model.Heads = 8
	otherModel.Attributes[AttributeCL].Accuracy = [][]float64{
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
	}
	for i := range otherModel.Attributes[AttributeCL].Heads {
		otherModel.Attributes[AttributeCL].Heads[i].Accuracy = 0.5
	}
	if err := otherModel.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(acOnly, otherModel)
	if !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), "profile 2 does not match profile 1") {
		t.Fatalf("model mismatch: %v", err)
	}

	fp := cloneProfile(acOnly)
	fp.Model.Fingerprint = "sha256:" + strings.Repeat("d", 64)
	if _, err := Merge(fp, clOnly); !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("fingerprint mismatch: %v", err)
	}

	if _, err := Merge(); err == nil {
		t.Error("Merge() succeeded")
	}
	if _, err := Merge(acOnly, nil); err == nil {
		t.Error("Merge with nil succeeded")
	}
	invalid := cloneProfile(clOnly)
	invalid.Kind = ""
	if _, err := Merge(acOnly, invalid); err == nil || !strings.Contains(err.Error(), "profile 2") {
		t.Errorf("Merge with an invalid profile: %v", err)
	}
}

func norm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func TestShifts(t *testing.T) {
	p := tinyProfile()
	a := p.Attributes[AttributeAC]
	const alpha = 20.0

	for _, c := range []struct{ topK, want int }{{0, 5}, {-1, 5}, {2, 2}, {5, 5}, {64, 5}} {
		s, err := p.Shifts(AttributeAC, DirectionProbe, alpha, c.topK)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != c.want {
			t.Fatalf("topK %d: %d shifts, want %d", c.topK, len(s), c.want)
		}
		for i, sh := range s {
			if sh.Layer != a.Heads[i].Layer || sh.Head != a.Heads[i].Head {
				t.Fatalf("topK %d: shift %d is L%d.H%d, want the %d-th best head L%d.H%d", c.topK, i, sh.Layer, sh.Head, i, a.Heads[i].Layer, a.Heads[i].Head)
			}
		}
	}

	for _, kind := range []DirectionKind{DirectionProbe, DirectionMassMean} {
		s, err := p.Shifts(AttributeAC, kind, alpha, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, sh := range s {
			d, _ := a.Heads[i].DirectionOf(kind)
			wantNorm := alpha * d.Sigma
			if got := norm(sh.Vector); math.Abs(got-wantNorm) > 1e-5*wantNorm {
				t.Errorf("%s head %d: norm %v, want alpha*sigma = %v", kind, i, got, wantNorm)
			}
			n := norm(d.Vector)
			for j, x := range sh.Vector {
				want := alpha * d.Sigma * float64(d.Vector[j]) / n
				if math.Abs(float64(x)-want) > 1e-5*math.Abs(want)+1e-6 {
					t.Fatalf("%s head %d [%d]: %v, want %v", kind, i, j, x, want)
				}
			}
		}
	}
	// The two kinds give different vectors (the fixture's directions differ).
	sp, _ := p.Shifts(AttributeCL, DirectionProbe, 1, 1)
	sm, _ := p.Shifts(AttributeCL, DirectionMassMean, 1, 1)
	if slices.Equal(sp[0].Vector, sm[0].Vector) {
		t.Error("probe and mass-mean shifts are equal")
	}
	// Negative alpha steers away; zero alpha adds nothing.
	neg, _ := p.Shifts(AttributeCL, DirectionProbe, -1, 1)
	for j := range neg[0].Vector {
		if neg[0].Vector[j] != -sp[0].Vector[j] {
			t.Fatal("alpha -1 is not the negation of alpha 1")
		}
	}
	zero, _ := p.Shifts(AttributeCL, DirectionProbe, 0, 0)
	for _, s := range zero {
		if norm(s.Vector) != 0 {
			t.Fatal("alpha 0 shifted")
		}
	}
	// The result does not alias the profile.
	sp[0].Vector[0] = 99
	if p.Attributes[AttributeCL].Heads[0].Probe.Vector[0] == 99 {
		t.Fatal("shift aliases the profile")
	}

	if _, err := p.Shifts("XX", DirectionProbe, 1, 0); err == nil || !strings.Contains(err.Error(), `no attribute "XX" (it has: AC, CL)`) {
		t.Errorf("unknown attribute: %v", err)
	}
	if _, err := p.Shifts(AttributeAC, "mean", 1, 0); err == nil || !strings.Contains(err.Error(), "unknown direction kind") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := p.Shifts(AttributeAC, DirectionProbe, math.NaN(), 0); err == nil {
		t.Error("NaN alpha accepted")
	}
}

func TestParseDirectionKind(t *testing.T) {
	for in, want := range map[string]DirectionKind{
		"": DirectionProbe, "probe": DirectionProbe, " Probe ": DirectionProbe,
		"mass-mean": DirectionMassMean, "mass_mean": DirectionMassMean, "massmean": DirectionMassMean,
	} {
		got, err := ParseDirectionKind(in)
		if err != nil || got != want {
			t.Errorf("ParseDirectionKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseDirectionKind("mean"); err == nil || !strings.Contains(err.Error(), `"probe" or "mass-mean"`) {
		t.Errorf("ParseDirectionKind(mean): %v", err)
	}
}

func TestSummary(t *testing.T) {
	p := tinyProfile()
	p.Model.Fingerprint = "sha256:" + strings.Repeat("e", 64)
	s := p.Summary()
	for _, w := range []string{
		"llama, 3 layers x 4 heads x d_h 32",
		p.Model.Fingerprint,
		"tiny.gguf",
		"attribute AC (desired: answer present)",
		"attribute CL (desired: same language)",
		"synthetic (question, passage) pairs",
		"200 (100 positive, 100 negative), split 4:1, seed 1",
		"selected: 5 heads",
		"top 5:",
		"sigma probe",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("summary lacks %q:\n%s", w, s)
		}
	}
	// Accuracy statistics agree with the map.
	a := p.Attributes[AttributeAC]
	var sum, mx float64
	high := 0
	for _, row := range a.Accuracy {
		for _, v := range row {
			sum += v
			mx = max(mx, v)
			if v >= 0.9 {
				high++
			}
		}
	}
	want := fmt.Sprintf("accuracy: mean %.3f, max %.3f, %d of 12 heads >= 0.9", sum/12, mx, high)
	if !strings.Contains(s, want) {
		t.Errorf("summary lacks %q:\n%s", want, s)
	}
	t.Log("\n" + s)
}
