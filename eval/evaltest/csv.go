package evaltest

import (
	"encoding/csv"
	"os"
	"testing"
)

// ReadCSV reads a results.csv or sweep.csv that `asmr eval` wrote into one
// map per row, keyed by the header; it fails the test on a missing or
// empty file.
func ReadCSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %d records, %v", path, len(recs), err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// MeansBySystem returns, from a results.csv that `asmr eval run` wrote, the
// mean of metric in lang for each system, as written ("1", "0.5", ...).
func MeansBySystem(t testing.TB, path, metric, lang string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range ReadCSV(t, path) {
		if r["metric"] == metric && r["lang"] == lang {
			out[r["system"]] = r["mean"]
		}
	}
	return out
}
