package testmodel

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/x448/float16"
)

// WeightType is the storage type of the 2-D weight matrices in a written
// file. Norm vectors and biases are always F32, as in real llama.cpp files.
// The values equal ggml's tensor type ids (and llama_ftype ids), which is
// why the order of the constants must not change.
type WeightType int

const (
	F32  WeightType = iota // ggml type 0, file type 0
	F16                    // ggml type 1, file type 1
	Q4_0                   // ggml type 2, file type 2 (MOSTLY_Q4_0)
)

// q4Block is the number of weights in one Q4_0 block, and q4BlockBytes its
// size on disk: an fp16 scale followed by 16 bytes of packed nibbles.
const (
	q4Block      = 32
	q4BlockBytes = 2 + q4Block/2
)

func (t WeightType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q4_0:
		return "q4_0"
	}
	return fmt.Sprintf("WeightType(%d)", int(t))
}

// ParseWeightType parses the names String returns (case-insensitive), so
// that a type can be chosen from a flag or an environment variable.
func ParseWeightType(s string) (WeightType, error) {
	for _, t := range []WeightType{F32, F16, Q4_0} {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown weight type %q (want f32, f16 or q4_0)", s)
}

func (t WeightType) valid() bool { return t >= F32 && t <= Q4_0 }

// appendRow appends the on-disk encoding of one row of a matrix of type t.
// For Q4_0 the row length must be a multiple of 32 (Spec.Validate ensures it).
func (t WeightType) appendRow(dst []byte, row []float32) []byte {
	switch t {
	case F16:
		for _, v := range row {
			dst = binary.LittleEndian.AppendUint16(dst, float16.Fromfloat32(v).Bits())
		}
	case Q4_0:
		dst = appendQ4_0(dst, row)
	default:
		for _, v := range row {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	}
	return dst
}

// round returns src as llama.cpp sees it after it was stored as type t
// (encoded and decoded again). For F32 it returns src itself.
func (t WeightType) round(src []float32) []float32 {
	switch t {
	case F16:
		return DecodeF16(EncodeF16(src))
	case Q4_0:
		return DequantizeQ4_0(QuantizeQ4_0(src))
	}
	return src
}

// EncodeF16 encodes src as little-endian IEEE half floats, rounding to
// nearest even like ggml's GGML_FP32_TO_FP16.
func EncodeF16(src []float32) []byte {
	return F16.appendRow(make([]byte, 0, 2*len(src)), src)
}

// DecodeF16 decodes little-endian IEEE half floats; len(b) must be even.
func DecodeF16(b []byte) []float32 {
	if len(b)%2 != 0 {
		panic(fmt.Sprintf("testmodel: DecodeF16: odd byte count %d", len(b)))
	}
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
	}
	return out
}

// QuantizeQ4_0 quantizes src exactly as ggml's quantize_row_q4_0_ref does,
// so a file written here holds the bytes llama-quantize would produce.
// len(src) must be a multiple of 32; it panics otherwise (a programming
// error, since Spec.Validate rejects such shapes).
func QuantizeQ4_0(src []float32) []byte {
	return appendQ4_0(make([]byte, 0, len(src)/q4Block*q4BlockBytes), src)
}

func appendQ4_0(dst []byte, src []float32) []byte {
	if len(src)%q4Block != 0 {
		panic(fmt.Sprintf("testmodel: Q4_0 needs a multiple of %d values, got %d", q4Block, len(src)))
	}
	for b := 0; b < len(src); b += q4Block {
		x := src[b : b+q4Block]
		// The value of largest magnitude, keeping its sign; the first one
		// wins ties, as in ggml.
		var amax, max float32
		for _, v := range x {
			if a := float32(math.Abs(float64(v))); amax < a {
				amax, max = a, v
			}
		}
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		dst = binary.LittleEndian.AppendUint16(dst, float16.Fromfloat32(d).Bits())
		for j := range q4Block / 2 {
			dst = append(dst, q4Nibble(x[j]*id)|q4Nibble(x[j+q4Block/2]*id)<<4)
		}
	}
	return dst
}

// q4Nibble is ggml's MIN(15, (int8_t)(x + 8.5f)). The explicit float32
// conversion keeps Go from fusing the product computed by the caller with
// this addition, so every step rounds like ggml's C code.
func q4Nibble(x float32) byte {
	return byte(min(15, int8(float32(x)+8.5)))
}

// DequantizeQ4_0 is ggml's dequantize_row_q4_0: each value is
// (nibble-8)*d, element j of a block in the low nibble of byte j and
// element j+16 in its high nibble. len(b) must be a multiple of 18.
func DequantizeQ4_0(b []byte) []float32 {
	if len(b)%q4BlockBytes != 0 {
		panic(fmt.Sprintf("testmodel: DequantizeQ4_0: %d bytes is not a whole number of %d-byte blocks", len(b), q4BlockBytes))
	}
	out := make([]float32, 0, len(b)/q4BlockBytes*q4Block)
	for ; len(b) > 0; b = b[q4BlockBytes:] {
		d := float16.Frombits(binary.LittleEndian.Uint16(b)).Float32()
		qs := b[2:q4BlockBytes]
		var blk [q4Block]float32
		for j, q := range qs {
			blk[j] = float32(int(q&0x0f)-8) * d
			blk[j+q4Block/2] = float32(int(q>>4)-8) * d
		}
		out = append(out, blk[:]...)
	}
	return out
}
