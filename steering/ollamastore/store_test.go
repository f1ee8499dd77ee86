package ollamastore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGGUF writes a small file with the GGUF magic and returns its path.
func fakeGGUF(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(p, []byte("GGUF"+content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveNameForms(t *testing.T) {
	gguf := fakeGGUF(t, "weights")
	sum := sha256.Sum256([]byte("GGUFweights"))
	wantDigest := "sha256:" + hex.EncodeToString(sum[:])

	cases := []struct {
		store    string // name written
		query    string // name resolved
		manifest string // manifest path relative to dir/manifests
		full     string
		short    string
	}{
		{"llama3.2:1b", "llama3.2:1b", "registry.ollama.ai/library/llama3.2/1b", "registry.ollama.ai/library/llama3.2:1b", "llama3.2:1b"},
		{"llama3.2", "llama3.2", "registry.ollama.ai/library/llama3.2/latest", "registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"},
		{"llama3.2", "llama3.2:latest", "registry.ollama.ai/library/llama3.2/latest", "registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"},
		{"llama3.2", "library/llama3.2", "registry.ollama.ai/library/llama3.2/latest", "registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"},
		{"llama3.2", "registry.ollama.ai/library/llama3.2:latest", "registry.ollama.ai/library/llama3.2/latest", "registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"},
		{"myuser/mymodel:q4", "myuser/mymodel:q4", "registry.ollama.ai/myuser/mymodel/q4", "registry.ollama.ai/myuser/mymodel:q4", "myuser/mymodel:q4"},
		{"registry.example.com/ns/model:tag", "registry.example.com/ns/model:tag", "registry.example.com/ns/model/tag", "registry.example.com/ns/model:tag", "registry.example.com/ns/model:tag"},
		{"localhost:5000/ns/model", "localhost:5000/ns/model", "localhost:5000/ns/model/latest", "localhost:5000/ns/model:latest", "localhost:5000/ns/model:latest"},
		{"hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF/Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
		// ollama resolves names case-insensitively to the stored spelling.
		{"MyUser/MyModel:Q4", "myuser/mymodel:q4", "registry.ollama.ai/MyUser/MyModel/Q4", "registry.ollama.ai/MyUser/MyModel:Q4", "MyUser/MyModel:Q4"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := WriteStore(dir, c.store, gguf, ""); err != nil {
				t.Fatalf("WriteStore(%q): %v", c.store, err)
			}
			m, err := ResolveIn(dir, c.query)
			if err != nil {
				t.Fatalf("ResolveIn(%q): %v", c.query, err)
			}
			if want := filepath.Join(dir, "manifests", filepath.FromSlash(c.manifest)); m.Manifest != want {
				t.Errorf("Manifest = %s, want %s", m.Manifest, want)
			}
			if m.Name != c.full || m.ShortName != c.short {
				t.Errorf("Name, ShortName = %q, %q; want %q, %q", m.Name, m.ShortName, c.full, c.short)
			}
			if m.Digest != wantDigest {
				t.Errorf("Digest = %s, want %s", m.Digest, wantDigest)
			}
			if want := filepath.Join(dir, "blobs", "sha256-"+hex.EncodeToString(sum[:])); m.ModelPath != want {
				t.Errorf("ModelPath = %s, want %s", m.ModelPath, want)
			}
			b, err := os.ReadFile(m.ModelPath)
			if err != nil || string(b) != "GGUFweights" {
				t.Errorf("blob content = %q, %v", b, err)
			}
			if m.Size != int64(len("GGUFweights")) || m.Template != "" || m.Params != nil {
				t.Errorf("Size, Template, Params = %d, %q, %v", m.Size, m.Template, m.Params)
			}
		})
	}
}

// addLayer appends a layer with content b to the manifest of m.
func addLayer(t *testing.T, dir string, m *Model, mediaType string, b []byte) {
	t.Helper()
	l, err := addBytesBlob(filepath.Join(dir, "blobs"), b, mediaType)
	if err != nil {
		t.Fatal(err)
	}
	editManifest(t, m, func(mf *manifestFile) { mf.Layers = append(mf.Layers, l) })
}

func editManifest(t *testing.T, m *Model, edit func(*manifestFile)) {
	t.Helper()
	raw, err := os.ReadFile(m.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var mf manifestFile
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	edit(&mf)
	raw, err = json.Marshal(mf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Manifest, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParamsSystemAdapters(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteStore(dir, "tiny", fakeGGUF(t, "x"), "T")
	if err != nil {
		t.Fatal(err)
	}
	addLayer(t, dir, m, MediaTypeParams, []byte(`{"stop":["<|eot|>"],"temperature":0.5,"num_ctx":4096}`))
	addLayer(t, dir, m, MediaTypeSystem, []byte("be brief"))
	addLayer(t, dir, m, MediaTypeAdapter, []byte("GGUFlora"))
	m2, err := ResolveIn(dir, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if m2.Params["temperature"] != 0.5 || m2.Params["num_ctx"] != float64(4096) {
		t.Errorf("Params = %v", m2.Params)
	}
	if stop, _ := m2.Params["stop"].([]any); len(stop) != 1 || stop[0] != "<|eot|>" {
		t.Errorf("Params[stop] = %v", m2.Params["stop"])
	}
	if m2.System != "be brief" || m2.Template != "T" || len(m2.Adapters) != 1 || len(m2.Projectors) != 0 {
		t.Errorf("System, Template, Adapters, Projectors = %q, %q, %v, %v", m2.System, m2.Template, m2.Adapters, m2.Projectors)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	gguf := fakeGGUF(t, "0123456789")
	good, err := WriteStore(dir, "good:1", gguf, "")
	if err != nil {
		t.Fatal(err)
	}

	expect := func(t *testing.T, err error, target error, substrs ...string) {
		t.Helper()
		t.Log(err)
		if !errors.Is(err, target) {
			t.Fatalf("err = %v, want %v", err, target)
		}
		for _, s := range substrs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %q", err, s)
			}
		}
	}

	t.Run("invalid name", func(t *testing.T) {
		for _, name := range []string{"", "bad name", "-x", "a/b/c/d/e", "model:", ":tag", "ns/", "x@sha256:00"} {
			_, err := ResolveIn(dir, name)
			expect(t, err, ErrInvalidName, "valid name looks like")
		}
	})
	t.Run("store missing", func(t *testing.T) {
		_, err := ResolveIn(filepath.Join(dir, "nope"), "good:1")
		expect(t, err, ErrStoreMissing, "OLLAMA_MODELS", filepath.Join(dir, "nope"))
	})
	t.Run("manifest missing", func(t *testing.T) {
		_, err := ResolveIn(dir, "llama3.2:1b")
		expect(t, err, ErrNotFound, "ollama pull llama3.2:1b")
	})
	t.Run("bad manifest", func(t *testing.T) {
		m, err := WriteStore(dir, "broken", gguf, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m.Manifest, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = ResolveIn(dir, "broken")
		expect(t, err, ErrBadManifest, "ollama pull broken:latest")
	})
	t.Run("bad digest", func(t *testing.T) {
		m, err := WriteStore(dir, "baddigest", gguf, "")
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, m, func(mf *manifestFile) { mf.Layers[0].Digest = "sha256:../../etc/passwd" })
		_, err = ResolveIn(dir, "baddigest")
		expect(t, err, ErrBadManifest, "invalid digest")
	})
	t.Run("no model layer", func(t *testing.T) {
		m, err := WriteStore(dir, "nomodel", gguf, "T")
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, m, func(mf *manifestFile) { mf.Layers = mf.Layers[1:] })
		_, err = ResolveIn(dir, "nomodel")
		expect(t, err, ErrNoModelLayer, "nomodel:latest")
	})
	t.Run("blob missing", func(t *testing.T) {
		m, err := WriteStore(dir, "noblob", gguf, "")
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, m, func(mf *manifestFile) { mf.Layers[0].Digest = "sha256:" + strings.Repeat("ab", 32) })
		_, err = ResolveIn(dir, "noblob")
		expect(t, err, ErrBlobMissing, "ollama pull noblob:latest")
	})
	t.Run("template blob missing", func(t *testing.T) {
		m, err := WriteStore(dir, "notemplate", gguf, "T")
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, m, func(mf *manifestFile) { mf.Layers[1].Digest = "sha256:" + strings.Repeat("cd", 32) })
		_, err = ResolveIn(dir, "notemplate")
		expect(t, err, ErrBlobMissing, MediaTypeTemplate)
	})
	t.Run("blob size", func(t *testing.T) {
		m, err := WriteStore(dir, "short", gguf, "")
		if err != nil {
			t.Fatal(err)
		}
		editManifest(t, m, func(mf *manifestFile) { mf.Layers[0].Size += 1000 })
		_, err = ResolveIn(dir, "short")
		expect(t, err, ErrBlobSize, "ollama pull short:latest", "1014")
	})
	t.Run("good still resolves", func(t *testing.T) {
		if _, err := ResolveIn(dir, good.ShortName); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("WriteStore rejects non-GGUF", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.bin")
		if err := os.WriteFile(p, []byte("not a gguf"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := WriteStore(dir, "x", p, ""); err == nil || !strings.Contains(err.Error(), "not a GGUF") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDirAndResolve(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OLLAMA_MODELS", ` "`+dir+`" `)
	got, err := Dir()
	if err != nil || got != dir {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, dir)
	}
	if _, err := WriteStore(dir, "tiny", fakeGGUF(t, "x"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve("tiny"); err != nil {
		t.Fatal(err)
	}

	t.Setenv("OLLAMA_MODELS", "")
	t.Setenv("HOME", "/home/someone")
	got, err = Dir()
	if err != nil || got != filepath.Join("/home/someone", ".ollama", "models") {
		t.Fatalf("Dir() = %q, %v", got, err)
	}
}

func TestLooksLikeName(t *testing.T) {
	existing := fakeGGUF(t, "x")
	noExt := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(noExt, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(noExt))
	for s, want := range map[string]bool{
		"llama3.2":                          true,
		"llama3.2:1b":                       true,
		"myuser/mymodel:q4":                 true,
		"registry.example.com/ns/model:tag": true,
		existing:                            false,
		noExt:                               false,
		"weights":                           false, // exists relative to the working directory
		"model.gguf":                        false, // a missing file, not a name
		"dir/model.GGUF":                    false,
		"./model":                           false,
		"/abs/path/model":                   false,
		"":                                  false,
		"bad name":                          false,
	} {
		if got := LooksLikeName(s); got != want {
			t.Errorf("LooksLikeName(%q) = %v, want %v", s, got, want)
		}
	}
}
