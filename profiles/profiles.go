// Package profiles ships the steering profiles probed for the models this
// project pins, so that `asmr run` (make run) serves a real, steered reader
// without probing first. Each profile records the GGUF fingerprint it was
// made on and the command that made it (see README.md in this folder);
// `make profile` makes it again.
package profiles

import _ "embed"

// Gemma3_270M is the profile of Gemma 3 270M (Q4_K_M, the GGUF that `make
// model` fetches: internal/modelfetch.Gemma3_270M), probed on the
// development half of XQuAD.
//
//go:embed gemma-3-270m.yaml
var Gemma3_270M []byte

// Gemma3_270MName is the file name of Gemma3_270M.
const Gemma3_270MName = "gemma-3-270m.yaml"
