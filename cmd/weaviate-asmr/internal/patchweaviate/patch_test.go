package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const pkg = "github.com/asmr-search/generative-asmr/module"

// fake is a minimal configure_api.go with both anchors.
const fake = `package rest

import (
	modgenerativedummy "github.com/weaviate/weaviate/modules/generative-dummy"
	modgenerativeollama "github.com/weaviate/weaviate/modules/generative-ollama"
)

func registerModules(appState *state.State) error {
	if _, ok := enabledModules[modgenerativeollama.Name]; ok {
		appState.Modules.Register(modgenerativeollama.New())
	}

	if _, ok := enabledModules[modgenerativedummy.Name]; ok {
		appState.Modules.Register(modgenerativedummy.New())
	}
	return nil
}
`

func TestPatchInsertsImportAndRegistration(t *testing.T) {
	out, changed, err := Patch([]byte(fake), pkg)
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("changed = false on an unpatched file")
	}
	s := string(out)
	if !strings.Contains(s, "\tmodasmr \""+pkg+"\"") {
		t.Errorf("import missing:\n%s", s)
	}
	reg := strings.Index(s, "enabledModules[modasmr.Name]")
	ollama := strings.Index(s, "enabledModules[modgenerativeollama.Name]")
	if reg < 0 || reg > ollama {
		t.Errorf("registration missing or not just before generative-ollama's:\n%s", s)
	}
	if !strings.Contains(s, "appState.Modules.Register(modasmr.New())") {
		t.Errorf("Register call missing:\n%s", s)
	}
	// Nothing of the original is lost.
	if got := strings.ReplaceAll(strings.ReplaceAll(s, importLine(pkg), ""), registerBlock(), ""); got != fake {
		t.Errorf("patch changed more than its two insertions:\n%s", got)
	}
}

func TestPatchIsIdempotent(t *testing.T) {
	once, _, err := Patch([]byte(fake), pkg)
	if err != nil {
		t.Fatal(err)
	}
	twice, changed, err := Patch(once, pkg)
	if err != nil {
		t.Fatalf("patching a patched file: %v", err)
	}
	if changed || !bytes.Equal(once, twice) {
		t.Errorf("second patch changed the file (changed=%v)", changed)
	}
}

func TestPatchFailsLoudly(t *testing.T) {
	patched, _, err := Patch([]byte(fake), pkg)
	if err != nil {
		t.Fatal(err)
	}
	noImport := strings.Replace(fake, importAnchor, "", 1)
	noRegister := strings.Replace(fake, registerAnchor, "\tif _, ok := enabledModules[modgenerativeollama.Name]; ok && true {\n", 1)
	twice := strings.Replace(fake, "\treturn nil\n", registerAnchor+"\t}\n\treturn nil\n", 1)
	for _, c := range []struct{ name, src, want string }{
		{"import anchor missing", noImport, "import of generative-ollama"},
		{"registration anchor missing", noRegister, "found 0 times"},
		{"registration anchor twice", twice, "found 2 times"},
		{"partly patched", strings.Replace(string(patched), importLine(pkg), "", 1), "partly patched"},
		{"alias taken", strings.Replace(fake, "modgenerativedummy", "modasmr", -1), "modasmr"},
		{"does not parse", strings.Replace(fake, "return nil\n}", "return nil\n", 1), "does not parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := Patch([]byte(c.src), pkg)
			if err == nil {
				t.Fatalf("no error; got\n%s", out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// TestPatchPinnedWeaviate patches the real file of the Weaviate version in
// go.mod, so a version bump that moves the anchors fails here first.
func TestPatchPinnedWeaviate(t *testing.T) {
	src := pinnedWeaviateFile(t, PatchedFile)
	out, changed, err := Patch(src, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if !changed || len(out) != len(src)+len(importLine(pkg))+len(registerBlock()) {
		t.Errorf("unexpected patch: changed=%v, %d -> %d bytes", changed, len(src), len(out))
	}
}

func TestReplacedModfile(t *testing.T) {
	gomod := []byte("module example.com/x\n\ngo 1.26\n\nrequire github.com/weaviate/weaviate v1.35.2 // indirect\n")
	out, err := replacedModfile(gomod, "/abs/copy")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, gomod) || !strings.HasSuffix(string(out), "\nreplace github.com/weaviate/weaviate => /abs/copy\n") {
		t.Errorf("generated go.mod:\n%s", out)
	}
	if _, err := replacedModfile(append(gomod, "replace github.com/weaviate/weaviate => ../w\n"...), "/abs/copy"); err == nil {
		t.Error("no error for a go.mod that already replaces Weaviate")
	}
	if p, err := modulePath(gomod); err != nil || p != "example.com/x" {
		t.Errorf("modulePath = %q, %v", p, err)
	}
}

func TestCopyOnce(t *testing.T) {
	src, base := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a", "b", "f.go"), []byte("package b\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(base, "w-v1")
	if copied, err := copyOnce(src, dst, "w@v1"); err != nil || !copied {
		t.Fatalf("first copy: copied=%v err=%v", copied, err)
	}
	fi, err := os.Stat(filepath.Join(dst, "a", "b", "f.go"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o200 == 0 {
		t.Errorf("copied file is not writable: %v", fi.Mode())
	}
	if copied, err := copyOnce(src, dst, "w@v1"); err != nil || copied {
		t.Errorf("second copy: copied=%v err=%v, want no copy", copied, err)
	}
	// A copy without its stamp (interrupted) is redone.
	if err := os.Remove(filepath.Join(dst, stampName)); err != nil {
		t.Fatal(err)
	}
	if copied, err := copyOnce(src, dst, "w@v1"); err != nil || !copied {
		t.Errorf("copy after lost stamp: copied=%v err=%v", copied, err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 1 {
		t.Errorf("leftovers next to the copy: %v", ents)
	}
}

// pinnedWeaviateFile reads name from the Weaviate version in go.mod, as
// the module cache holds it; the test is skipped when it is not there.
func pinnedWeaviateFile(t *testing.T, name string) []byte {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", weaviateModule).Output()
	if err != nil || len(bytes.TrimSpace(dir)) == 0 {
		t.Skipf("pinned Weaviate not in the module cache (go mod download %s): %v", weaviateModule, err)
	}
	src, err := os.ReadFile(filepath.Join(string(bytes.TrimSpace(dir)), name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}
