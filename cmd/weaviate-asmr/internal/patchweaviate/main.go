// Command patchweaviate prepares the build of bin/weaviate-asmr: Weaviate
// with the generative-asmr module registered. Run from the repository root
// (make does):
//
//	go run ./cmd/weaviate-asmr/internal/patchweaviate -out .cache/weaviate-build
//
// It
//  1. copies the Weaviate module pinned in go.mod out of the module cache
//     into <out>/weaviate-<version>/ (once per version: a stamp file written
//     last marks a complete copy);
//  2. inserts the import and registration of our module into the copy's
//     adapters/handlers/rest/configure_api.go (see Patch), and passes the
//     order of groupedResult's properties to generative modules in its
//     usecases/modulecomponents/additional/generate/generate_result.go (see
//     PatchOrder), patching the pristine files from the module cache each
//     time, so the result does not depend on earlier runs; it fails if
//     Weaviate's code moved;
//  3. writes <out>/go.mod (our go.mod plus a replace of Weaviate by the copy)
//     and <out>/go.sum, for `go build -modfile=<out>/go.mod ./cmd/weaviate-asmr`.
//
// Files are written only when their content changes, each through a
// temporary file and a rename, so concurrent runs do not see half a file.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	weaviateModule = "github.com/weaviate/weaviate"
	stampName      = ".asmr-copy-complete"
)

func main() {
	out := flag.String("out", ".cache/weaviate-build", "build folder (relative to the repository root, or absolute)")
	quiet := flag.Bool("q", false, "print only the path of the generated go.mod")
	flag.Parse()
	modfile, err := run(*out, *quiet)
	if err != nil {
		fmt.Fprintf(os.Stderr, "patchweaviate: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(modfile)
}

func run(out string, quiet bool) (string, error) {
	logf := func(format string, args ...any) {
		if !quiet {
			fmt.Fprintf(os.Stderr, "patchweaviate: "+format+"\n", args...)
		}
	}
	gomod, err := goOutput("", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod = strings.TrimSpace(gomod)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module; run from the generative-asmr repository")
	}
	root := filepath.Dir(gomod)
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}

	modSrc, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	ourPath, err := modulePath(modSrc)
	if err != nil {
		return "", err
	}

	// go mod download resolves the version in our build list and fetches
	// it if the module cache lacks it.
	dl, err := goOutput(root, "mod", "download", "-json", weaviateModule)
	if err != nil {
		return "", err
	}
	var m struct{ Path, Version, Dir, Error string }
	if err := json.Unmarshal([]byte(dl), &m); err != nil {
		return "", fmt.Errorf("go mod download -json %s: %w", weaviateModule, err)
	}
	if m.Error != "" || m.Dir == "" || m.Version == "" {
		return "", fmt.Errorf("go mod download %s: %s", weaviateModule, m.Error)
	}

	dst := filepath.Join(out, "weaviate-"+m.Version)
	copied, err := copyOnce(m.Dir, dst, m.Path+"@"+m.Version)
	if err != nil {
		return "", err
	}
	if copied {
		logf("copied %s@%s to %s", m.Path, m.Version, dst)
	}

	for _, f := range []struct {
		name  string
		pkg   string
		patch func(src []byte, pkg string) ([]byte, bool, error)
	}{
		{PatchedFile, ourPath + "/module", Patch},
		{OrderFile, ourPath + "/module/propertyorder", PatchOrder},
	} {
		pristine, err := os.ReadFile(filepath.Join(m.Dir, f.name))
		if err != nil {
			return "", err
		}
		patched, _, err := f.patch(pristine, f.pkg)
		if err != nil {
			return "", err
		}
		if w, err := writeIfChanged(filepath.Join(dst, f.name), patched, 0o644); err != nil {
			return "", err
		} else if w {
			logf("patched %s", filepath.Join(dst, f.name))
		}
	}

	genMod, err := replacedModfile(modSrc, dst)
	if err != nil {
		return "", err
	}
	modOut := filepath.Join(out, "go.mod")
	if _, err := writeIfChanged(modOut, genMod, 0o644); err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", err
	}
	if _, err := writeIfChanged(filepath.Join(out, "go.sum"), sum, 0o644); err != nil {
		return "", err
	}
	return modOut, nil
}

func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(b), nil
}

// modulePath returns the module path declared in a go.mod.
func modulePath(gomod []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", errors.New("go.mod has no module line")
}

// replacedModfile returns gomod with Weaviate replaced by the folder dir.
// It refuses a go.mod that already replaces Weaviate.
func replacedModfile(gomod []byte, dir string) ([]byte, error) {
	for _, line := range strings.Split(string(gomod), "\n") {
		if strings.Contains(line, "=>") && strings.Contains(line, weaviateModule+" ") {
			return nil, fmt.Errorf("go.mod already replaces %s (%q); cannot add the build replace", weaviateModule, strings.TrimSpace(line))
		}
	}
	var b bytes.Buffer
	b.Write(gomod)
	if len(gomod) > 0 && gomod[len(gomod)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n// Generated by cmd/weaviate-asmr/internal/patchweaviate: Weaviate with generative-asmr registered.\nreplace %s => %s\n", weaviateModule, dir)
	return b.Bytes(), nil
}

// copyOnce copies the tree src to dst unless dst holds a stamp saying it
// is a complete copy of id. It reports whether it copied.
func copyOnce(src, dst, id string) (bool, error) {
	stamp := filepath.Join(dst, stampName)
	if b, err := os.ReadFile(stamp); err == nil && string(b) == id+"\n" {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(src, tmp); err != nil {
		return false, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, stampName), []byte(id+"\n"), 0o644); err != nil {
		return false, err
	}
	// An incomplete copy (no or another stamp) is replaced.
	if err := os.RemoveAll(dst); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		// A concurrent run may have won the race; accept its copy.
		if b, err2 := os.ReadFile(stamp); err2 == nil && string(b) == id+"\n" {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// copyTree copies regular files and folders, making them writable (the
// module cache is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		default:
			return fmt.Errorf("%s: not a regular file or folder", p)
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeIfChanged writes data to path through a temporary file and a rename,
// unless path already holds data. It reports whether it wrote.
func writeIfChanged(path string, data []byte, perm os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(f.Name(), path)
}
