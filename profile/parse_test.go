package profile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

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
