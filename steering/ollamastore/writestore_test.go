package ollamastore

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteStoreKeepsSpelling checks that, like ollama create, writing a
// name that differs from a stored one only in case replaces the stored one.
func TestWriteStoreKeepsSpelling(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteStore(dir, "MyUser/MyModel:Q4", fakeGGUF(t, "a"), ""); err != nil {
		t.Fatal(err)
	}
	m, err := WriteStore(dir, "myuser/mymodel:q4", fakeGGUF(t, "b"), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.ShortName != "MyUser/MyModel:Q4" {
		t.Errorf("ShortName = %q", m.ShortName)
	}
	if b, _ := os.ReadFile(m.ModelPath); string(b) != "GGUFb" {
		t.Errorf("blob = %q, want the second write", b)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "manifests", "*", "*", "*", "*"))
	if len(matches) != 1 {
		t.Errorf("manifests = %v, want one", matches)
	}
}

// TestManifestFormat checks the manifest against the shape ollama writes.
func TestManifestFormat(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteStore(dir, "tiny:test", fakeGGUF(t, "x"), "{{ .Prompt }}")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(m.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var mf struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        struct {
			MediaType, Digest string
			Size              int64
		} `json:"config"`
		Layers []struct {
			MediaType, Digest string
			Size              int64
		} `json:"layers"`
	}
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	if mf.SchemaVersion != 2 || mf.MediaType != MediaTypeManifest || mf.Config.MediaType != MediaTypeConfig {
		t.Errorf("manifest header = %+v", mf)
	}
	if len(mf.Layers) != 2 || mf.Layers[0].MediaType != MediaTypeModel || mf.Layers[1].MediaType != MediaTypeTemplate {
		t.Fatalf("layers = %+v", mf.Layers)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "blobs", strings.Replace(mf.Config.Digest, ":", "-", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ModelFormat string `json:"model_format"`
		RootFS      struct {
			Type    string   `json:"type"`
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if c.ModelFormat != "gguf" || len(c.RootFS.DiffIDs) != 2 || c.RootFS.DiffIDs[0] != mf.Layers[0].Digest {
		t.Errorf("config = %s", cfg)
	}
	if m.Template != "{{ .Prompt }}" {
		t.Errorf("Template = %q", m.Template)
	}
	// Writing again is idempotent.
	if _, err := WriteStore(dir, "tiny:test", m.ModelPath, "{{ .Prompt }}"); err != nil {
		t.Fatalf("second WriteStore: %v", err)
	}
}

// TestHardLinkOrCopy checks that the blob holds the GGUF bytes whichever way
// it was placed.
func TestHardLinkOrCopy(t *testing.T) {
	dir := t.TempDir()
	src := fakeGGUF(t, strings.Repeat("w", 1<<16))
	m, err := WriteStore(dir, "big", src, "")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(m.ModelPath)
	if !bytes.Equal(a, b) {
		t.Fatal("blob differs from source")
	}
}
