// Package probes turns labelled prompts into a steering profile: it
// captures per-head activations (steering.CaptureLastToken), trains one
// logistic-regression probe per attention head, selects the top-K heads per
// attribute and writes their directions.
package probes
