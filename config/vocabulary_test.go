package config

import "testing"

// The vocabularies shared with steering and the module: each parser
// accepts its values in any letter case, gives the default for "", and
// refuses the rest naming what it wants.
func TestVocabularies(t *testing.T) {
	for _, c := range []struct {
		parse   func(string) (string, error)
		in      string
		want    string
		wantErr string
	}{
		{kv, "", "f16", ""},
		{kv, "Q8_0", "q8_0", ""},
		{kv, "f8", "", `"f8": want f16, f32, q8_0 or q4_0`},
		{fa, "", "auto", ""},
		{fa, "TRUE", "on", ""},
		{fa, "no", "off", ""},
		{fa, "maybe", "", `"maybe": want auto, on or off`},
		{ts, "", "generation", ""},
		{ts, " All ", "all", ""},
		{ts, " ", "", `" " is not a scope; want "generation" (last prompt token and generated tokens) or "all" (every token)`},
	} {
		got, err := c.parse(c.in)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%q: %q, %v; want the error %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func kv(s string) (string, error) { v, err := ParseKVCacheType(s); return string(v), err }
func fa(s string) (string, error) { v, err := ParseFlashAttention(s); return string(v), err }
func ts(s string) (string, error) { v, err := ParseTokenScope(s); return string(v), err }
