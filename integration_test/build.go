package integration_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ModulePath is the module path of this repository.
const ModulePath = "github.com/asmr-search/generative-asmr"

// BinaryRelPath is the server binary, relative to the repository root.
const BinaryRelPath = "bin/weaviate-asmr"

// serverSourceDirs are the folders, relative to the repository root, whose
// sources go into bin/weaviate-asmr (with go.mod and go.sum).
var serverSourceDirs = []string{"module", "config", "steering", "probes", "cmd/weaviate-asmr"}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error

	binMu   sync.Mutex
	binDone bool
	binPath string
	binErr  error
)

// RepoRoot returns the repository root: the nearest folder at or above the
// working directory whose go.mod declares ModulePath.
func RepoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() { rootDir, rootErr = findRoot() })
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootDir
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+ModulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory", ModulePath)
		}
		dir = parent
	}
}

// BinaryPath returns the absolute path of bin/weaviate-asmr, first building
// it with `make -C <root> build` if it is missing or older than its sources.
// The check and build run once per test process, under a file lock shared
// with other test processes of this repository.
func BinaryPath(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	binMu.Lock()
	defer binMu.Unlock()
	if !binDone {
		binPath, binErr = ensureBinary(t, root)
		binDone = true
	}
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func ensureBinary(t testing.TB, root string) (string, error) {
	bin := filepath.Join(root, BinaryRelPath)
	lockPath := filepath.Join(root, ".cache", "weaviate-asmr-build.lock")
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(lockPath)
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer unlock()

	newest, newestFile, err := newestSource(root)
	if err != nil {
		return "", err
	}
	var why string
	if fi, err := os.Stat(bin); err != nil {
		why = BinaryRelPath + " is missing"
	} else if fi.ModTime().Before(newest) {
		rel, _ := filepath.Rel(root, newestFile)
		why = fmt.Sprintf("%s is older than %s", BinaryRelPath, rel)
	} else {
		return bin, nil
	}

	t.Logf("building %s with `make -C %s build` (%s); the first build takes minutes", BinaryRelPath, root, why)
	start := time.Now()
	cmd := exec.Command("make", "-C", root, "build")
	cmd.Env = withoutMakeVars(os.Environ())
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		return "", fmt.Errorf("make build failed after %v: %v\n%s", took, err, tail(string(out), 60))
	}
	t.Logf("built %s in %v", BinaryRelPath, took)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("make build succeeded but %s: %w", BinaryRelPath, err)
	}
	return bin, nil
}

// newestSource returns the newest modification time among the server's
// sources (tests excluded), and that file.
func newestSource(root string) (time.Time, string, error) {
	var newest time.Time
	var file string
	consider := func(p string) error {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.ModTime().After(newest) {
			newest, file = fi.ModTime(), p
		}
		return nil
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := consider(filepath.Join(root, f)); err != nil {
			return newest, file, err
		}
	}
	for _, d := range serverSourceDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			name := e.Name()
			if e.IsDir() {
				if name == "testdata" || (strings.HasPrefix(name, ".") && p != filepath.Join(root, d)) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(name, "_test.go") {
				return nil
			}
			switch filepath.Ext(name) {
			case ".go", ".c", ".h":
				return consider(p)
			}
			return nil
		})
		if err != nil {
			return newest, file, err
		}
	}
	return newest, file, nil
}

// withoutMakeVars drops the variables a parent make (make test) passes
// down, so the nested make does not look for a jobserver it cannot reach.
func withoutMakeVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
