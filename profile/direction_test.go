package profile

import (
	"strings"
	"testing"
)

func TestParseDirectionKind(t *testing.T) {
	for in, want := range map[string]DirectionKind{
		"": DirectionProbe, "probe": DirectionProbe, " Probe ": DirectionProbe,
		"mass-mean": DirectionMassMean, "mass_mean": DirectionMassMean, "massmean": DirectionMassMean,
		"language": DirectionLanguage, " Language ": DirectionLanguage,
	} {
		got, err := ParseDirectionKind(in)
		if err != nil || got != want {
			t.Errorf("ParseDirectionKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseDirectionKind("mean"); err == nil || !strings.Contains(err.Error(), `"probe", "mass-mean" or "language"`) {
		t.Errorf("ParseDirectionKind(mean): %v", err)
	}
}
