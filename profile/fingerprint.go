package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// fingerprintMaxArray is the longest GGUF array that ModelFingerprint keeps
// in memory. Longer arrays (the tokenizer's tokens, scores, token types and
// merges: 32k to 260k entries) are read past and dropped. Per-layer arrays
// such as attention.head_count have one entry per layer and stay well under
// it.
const fingerprintMaxArray = 4096

// fingerprintScheme prefixes the hashed text, so that a future change of
// what is hashed yields different fingerprints instead of colliding ones.
const fingerprintScheme = "asmr-gguf-tensor-layout-v1\n"

// ModelFingerprint reads the header of a GGUF file and returns the model's
// identity: architecture, block count, head count, head dim
// (<arch>.attention.value_length, else embedding_length / head_count) and a
// fingerprint "sha256:<hex>" of the sorted list of (tensor name, ggml type,
// shape).
//
// The fingerprint covers the layout, not the weights: it is computed from the
// header alone, so it takes milliseconds on a multi-GB file (tensor data is
// never read), and it tells apart models of different shape, different
// tensor sets (e.g. a baked copy with attn_output biases) and different
// quantizations. Two fine-tunes of one base model stored the same way share
// it; the file name in ModelIdentity.File is informational.
func ModelFingerprint(ggufPath string) (ModelIdentity, error) {
	f, err := os.Open(ggufPath)
	if err != nil {
		return ModelIdentity{}, fmt.Errorf("fingerprint GGUF: %w", err)
	}
	defer f.Close()
	id, err := fingerprintGGUF(f)
	if err != nil {
		return ModelIdentity{}, fmt.Errorf("fingerprint GGUF %q: %w", ggufPath, err)
	}
	id.File = filepath.Base(ggufPath)
	return id, nil
}

// fingerprintGGUF does the work of ModelFingerprint on any ReadSeeker, so
// that tests can count the bytes it reads.
func fingerprintGGUF(rs io.ReadSeeker) (id ModelIdentity, err error) {
	// ggml.Decode trusts the header's sizes (a corrupt one can make it index
	// out of range or divide by zero): report that as an error, not a crash
	// of the process that embeds us.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt GGUF header: %v", r)
		}
	}()
	g, err := ggml.Decode(rs, fingerprintMaxArray)
	if err != nil {
		return ModelIdentity{}, fmt.Errorf("read GGUF header: %w", err)
	}
	kv := g.KV()
	arch, _ := kv["general.architecture"].(string)
	if arch == "" {
		return ModelIdentity{}, errors.New("no general.architecture in the GGUF header")
	}
	id.Architecture = arch

	layers, ok := kvUint(kv, arch+".block_count")
	if !ok || layers == 0 {
		return ModelIdentity{}, fmt.Errorf("no %s.block_count in the GGUF header", arch)
	}
	id.Layers = int(layers)

	heads, err := headCount(kv, arch, id.Layers)
	if err != nil {
		return ModelIdentity{}, err
	}
	id.Heads = heads

	if dv, ok := kvUint(kv, arch+".attention.value_length"); ok && dv > 0 {
		id.HeadDim = int(dv)
	} else {
		embd, ok := kvUint(kv, arch+".embedding_length")
		if !ok || embd == 0 {
			return ModelIdentity{}, fmt.Errorf("no %s.attention.value_length nor %s.embedding_length in the GGUF header", arch, arch)
		}
		if embd%uint64(heads) != 0 {
			return ModelIdentity{}, fmt.Errorf("%s.embedding_length %d is not a multiple of the head count %d, and there is no %s.attention.value_length", arch, embd, heads, arch)
		}
		id.HeadDim = int(embd / uint64(heads))
	}

	id.Fingerprint = layoutFingerprint(g.Tensors().Items())
	return id, nil
}

// headCount reads <arch>.attention.head_count, a number or one number per
// layer. A profile is a [layers][heads] grid, so per-layer counts must agree.
func headCount(kv ggml.KV, arch string, layers int) (int, error) {
	key := arch + ".attention.head_count"
	if _, present := kv[key]; !present {
		return 0, fmt.Errorf("no %s in the GGUF header", key)
	}
	if n, ok := kvUint(kv, key); ok {
		if n == 0 {
			return 0, fmt.Errorf("%s is 0", key)
		}
		return int(n), nil
	}
	// An array: ggml.KV handles its element types (keys without the
	// architecture prefix).
	counts := kv.UintOrArrayValueAsArray("attention.head_count", 0)
	if len(counts) == 0 {
		return 0, fmt.Errorf("%s is an empty array or has more than %d entries", key, fingerprintMaxArray)
	}
	if len(counts) == 1 && counts[0] == 0 {
		return 0, fmt.Errorf("%s has an unsupported type %T", key, kv[key])
	}
	if len(counts) != layers {
		return 0, fmt.Errorf("%s has %d entries for %d layers", key, len(counts), layers)
	}
	if slices.Min(counts) != slices.Max(counts) || counts[0] == 0 {
		return 0, fmt.Errorf("%s varies per layer (%v): steering profiles need the same number of attention heads in every layer", key, counts)
	}
	return int(counts[0]), nil
}

// kvUint reads a scalar integer KV of any integer type; writers disagree on
// uint32 vs uint64.
func kvUint(kv ggml.KV, key string) (uint64, bool) {
	switch v := kv[key].(type) {
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	case int8:
		return uint64(v), v >= 0
	case int16:
		return uint64(v), v >= 0
	case int32:
		return uint64(v), v >= 0
	case int64:
		return uint64(v), v >= 0
	}
	return 0, false
}

// layoutFingerprint hashes one line per tensor, "name<TAB>type<TAB>shape",
// sorted by name, so that the order of tensors in the file does not matter.
// The type is ggml's numeric type id (stable in the GGUF format), the shape
// in ggml order (ne0 first).
func layoutFingerprint(ts []*ggml.Tensor) string {
	lines := make([]string, 0, len(ts))
	for _, t := range ts {
		dims := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			dims[i] = strconv.FormatUint(d, 10)
		}
		lines = append(lines, strconv.Quote(t.Name)+"\t"+strconv.FormatUint(uint64(t.Kind), 10)+"\t"+strings.Join(dims, "x"))
	}
	slices.Sort(lines)
	h := sha256.New()
	io.WriteString(h, fingerprintScheme)
	for _, l := range lines {
		io.WriteString(h, l)
		io.WriteString(h, "\n")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
