package config

import (
	"fmt"
	"strings"
)

// KVCacheType is the element type of llama.cpp's KV cache: as the ops
// file's kvCacheType and `asmr generate -kv-type` write it, and as
// steering.Options takes it. "" means DefaultKVCacheType.
type KVCacheType string

const (
	// KVCacheF16 is half precision: the default.
	KVCacheF16 KVCacheType = "f16"
	// KVCacheF32 is exact, at twice the memory of f16.
	KVCacheF32 KVCacheType = "f32"
	// KVCacheQ8_0 is 8-bit blocks: about half the memory of f16.
	KVCacheQ8_0 KVCacheType = "q8_0"
	// KVCacheQ4_0 is 4-bit blocks: about a quarter of the memory of f16.
	KVCacheQ4_0 KVCacheType = "q4_0"
)

// DefaultKVCacheType is the type where none is set.
const DefaultKVCacheType = KVCacheF16

// KVCacheTypes lists the types, the default first.
var KVCacheTypes = []KVCacheType{KVCacheF16, KVCacheF32, KVCacheQ8_0, KVCacheQ4_0}

// ParseKVCacheType reads a type in any letter case; "" is
// DefaultKVCacheType. The error is `"<s>": want f16, f32, q8_0 or q4_0`.
func ParseKVCacheType(s string) (KVCacheType, error) {
	t := KVCacheType(strings.ToLower(strings.TrimSpace(s)))
	if t == "" {
		return DefaultKVCacheType, nil
	}
	for _, k := range KVCacheTypes {
		if t == k {
			return k, nil
		}
	}
	return "", fmt.Errorf("%q: want %s", s, oneOf(KVCacheTypes))
}
