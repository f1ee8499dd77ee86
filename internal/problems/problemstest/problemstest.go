// Package problemstest checks errors of type *problems.Error in tests and
// fuzz targets.
package problemstest

import (
	"errors"
	"strings"
	"testing"

	"github.com/asmr-search/generative-asmr/internal/problems"
)

// CheckText fails t when err's text is empty, or when err is a
// *problems.Error that lists no problem or an empty one: every error that
// a person reads must say something.
func CheckText(t testing.TB, err error) {
	t.Helper()
	if strings.TrimSpace(err.Error()) == "" {
		t.Fatalf("error %T with empty text", err)
	}
	var pe *problems.Error
	if !errors.As(err, &pe) {
		return
	}
	if len(pe.Problems) == 0 {
		t.Fatalf("%T lists no problem: %v", err, err)
	}
	for _, p := range pe.Problems {
		if strings.TrimSpace(p) == "" {
			t.Fatalf("%T lists an empty problem: %q", err, pe.Problems)
		}
	}
}
