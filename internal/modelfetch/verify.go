package modelfetch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// The stamp file "<file>.sha256" records "<sha256> <size in bytes> <mtime in
// Unix nanoseconds>" for a file that was hashed, so that a later check of an
// unchanged file (same size and mtime) skips re-hashing its ~250 MB.

// stampPath is the stamp file of the file at p.
func stampPath(p string) string { return p + ".sha256" }

// verified reports whether the file at p exists, has size (when size > 0)
// and has sha256 want. It trusts the stamp when the file's size and mtime
// match it, and hashes the file otherwise, refreshing the stamp on a match.
// A missing file is (false, "", nil); got describes a mismatch for the log:
// the sum found, or the size when it differs ("" when the file matched or
// is missing). Errors are I/O errors other than a missing file.
func verified(p, want string, size int64) (ok bool, got string, err error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	if !fi.Mode().IsRegular() {
		return false, "", fmt.Errorf("modelfetch: %s exists but is not a regular file; remove it", p)
	}
	if size > 0 && fi.Size() != size {
		return false, fmt.Sprintf("(size %d bytes, want %d)", fi.Size(), size), nil
	}
	if readStamp(p, fi) == want {
		return true, "", nil
	}
	got, err = hashFile(p)
	if err != nil {
		return false, "", err
	}
	if got != want {
		return false, got, nil
	}
	writeStamp(p, fi, got)
	return true, "", nil
}

// hashFile returns the hex sha256 of the file at p.
func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("modelfetch: hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readStamp returns the sum recorded for p if the stamp matches fi's size
// and mtime, else "".
func readStamp(p string, fi fs.FileInfo) string {
	b, err := os.ReadFile(stampPath(p))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) != 3 || f[1] != strconv.FormatInt(fi.Size(), 10) || f[2] != strconv.FormatInt(fi.ModTime().UnixNano(), 10) {
		return ""
	}
	return f[0]
}

// writeStamp records sum for p with fi's size and mtime. A failure only
// costs a re-hash next time, so it is ignored.
func writeStamp(p string, fi fs.FileInfo, sum string) {
	line := fmt.Sprintf("%s %d %d\n", sum, fi.Size(), fi.ModTime().UnixNano())
	_ = os.WriteFile(stampPath(p), []byte(line), 0o644)
}
