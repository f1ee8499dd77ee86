package testmodel

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestParseWeightType(t *testing.T) {
	for _, wt := range []WeightType{F32, F16, Q4_0} {
		got, err := ParseWeightType(wt.String())
		if err != nil || got != wt {
			t.Errorf("ParseWeightType(%q) = %v, %v", wt.String(), got, err)
		}
	}
	if got, err := ParseWeightType("Q4_0"); err != nil || got != Q4_0 {
		t.Errorf("ParseWeightType(Q4_0) = %v, %v", got, err)
	}
	if _, err := ParseWeightType("q8_0"); err == nil {
		t.Error("ParseWeightType(q8_0) succeeded")
	}
}

func TestF16(t *testing.T) {
	// Known encodings (little endian).
	got := EncodeF16([]float32{1, -2, 65504, 0.5, 0, float32(math.Ldexp(1, -24))})
	want := []byte{0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x38, 0x00, 0x00, 0x01, 0x00}
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeF16 = % x, want % x", got, want)
	}
	// Round to nearest even: 1+2^-11 is halfway between 1 and 1+2^-10.
	if got := EncodeF16([]float32{1 + 0x1p-11, 1 + 3*0x1p-11}); !bytes.Equal(got, []byte{0x00, 0x3c, 0x02, 0x3c}) {
		t.Errorf("ties: % x", got)
	}
	// Every finite half decodes and re-encodes to itself.
	all := make([]byte, 0, 1<<17)
	for h := range 1 << 16 {
		if h&0x7c00 != 0x7c00 {
			all = append(all, byte(h), byte(h>>8))
		}
	}
	if back := EncodeF16(DecodeF16(all)); !bytes.Equal(back, all) {
		t.Error("half -> float32 -> half is not the identity")
	}
	// Random values in the normal range round with relative error <= 2^-11.
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, 10000)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 10)
	}
	for i, v := range DecodeF16(EncodeF16(src)) {
		if math.Abs(float64(src[i])) < 1e-4 {
			continue // subnormal halves have absolute, not relative, precision
		}
		if e := math.Abs(float64(v-src[i])) / math.Abs(float64(src[i])); e > 0x1p-11 {
			t.Fatalf("%g -> %g: relative error %g", src[i], v, e)
		}
	}
}

func TestQ4_0KnownVectors(t *testing.T) {
	// d = 8 / -8 = -1, so every integer in [-7, 8] is exact: q = 8 - x.
	x := make([]float32, 32)
	x[0] = 8
	for j := 1; j < 32; j++ {
		x[j] = float32(j%16 - 7)
	}
	want := []byte{0x00, 0xbc} // fp16(-1)
	for j := range 16 {
		lo, hi := 8-int(x[j]), 8-int(x[j+16])
		want = append(want, byte(lo|hi<<4))
	}
	got := QuantizeQ4_0(x)
	if !bytes.Equal(got, want) {
		t.Fatalf("QuantizeQ4_0 = % x\nwant            % x", got, want)
	}
	if back := DequantizeQ4_0(got); !equal32(back, x) {
		t.Errorf("DequantizeQ4_0 = %v, want %v", back, x)
	}

	// Negative extreme: d = -4 / -8 = 0.5, id = 2; -4 -> q 0; 3.5 -> 15;
	// 0.25 -> int8(9) = 9 -> 0.5 (the +8.5 rounds half up).
	y := make([]float32, 32)
	y[3], y[4], y[20] = -4, 3.5, 0.25
	got = QuantizeQ4_0(y)
	if got[0] != 0x00 || got[1] != 0x38 { // fp16(0.5)
		t.Errorf("scale bytes % x, want 00 38", got[:2])
	}
	if q := got[2+3]; q != 0x80 {
		t.Errorf("byte 3 = %#x, want 0x80", q)
	}
	if q := got[2+4]; q != 0x9f {
		t.Errorf("byte 4 = %#x, want 0x9f (low 15 for 3.5, high 9 for 0.25)", q)
	}
	back := DequantizeQ4_0(got)
	if back[3] != -4 || back[4] != 3.5 || back[20] != 0.5 || back[0] != 0 {
		t.Errorf("dequantized %v", back)
	}

	// A tie of magnitudes keeps the first value's sign: max = 4, d = -0.5,
	// and -4 maps to 16, clamped to 15, i.e. -3.5.
	z := make([]float32, 32)
	z[0], z[1] = 4, -4
	if back := DequantizeQ4_0(QuantizeQ4_0(z)); back[0] != 4 || back[1] != -3.5 {
		t.Errorf("tie: got %v %v, want 4 -3.5", back[0], back[1])
	}

	// An all-zero block has d = 0/-8 = -0 (fp16 0x8000, as in ggml) and
	// every nibble 8.
	got = QuantizeQ4_0(make([]float32, 32))
	if !bytes.Equal(got, append([]byte{0x00, 0x80}, bytes.Repeat([]byte{0x88}, 16)...)) {
		t.Errorf("zero block % x", got)
	}
}

func TestQ4_0RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, 32*500)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	q := QuantizeQ4_0(src)
	if len(q) != 500*18 {
		t.Fatalf("%d bytes, want %d", len(q), 500*18)
	}
	back := DequantizeQ4_0(q)
	var sq, dsq float64
	for b := 0; b < len(src); b += 32 {
		var amax float64
		for _, v := range src[b : b+32] {
			amax = max(amax, math.Abs(float64(v)))
		}
		d := amax / 8
		for j := b; j < b+32; j++ {
			e := math.Abs(float64(back[j] - src[j]))
			// Half a step, or a whole step for values clamped at q = 15,
			// plus the fp16 rounding of d.
			if e > d*1.01 {
				t.Fatalf("element %d: %g -> %g, error %g > step %g", j, src[j], back[j], e, d)
			}
			sq += e * e
			dsq += d * d
		}
	}
	// The RMS error of a uniform quantizer is step/sqrt(12).
	if rel := math.Sqrt(sq / dsq); rel > 0.35 {
		t.Errorf("rms error %.3f steps, want about 0.29", rel)
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
