package profile

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Summary is a human summary for `asmr profile show`: the model, and per
// attribute the data, the accuracy map's statistics and the top 10 heads.
func (p *Profile) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ASMR steering profile, version %d\n", p.Version)
	fmt.Fprintf(&b, "model:       %s\n", p.Model)
	if p.Model.Fingerprint != "" {
		fmt.Fprintf(&b, "fingerprint: %s\n", p.Model.Fingerprint)
	}
	if p.Model.File != "" {
		fmt.Fprintf(&b, "file:        %s\n", p.Model.File)
	}
	if p.CreatedBy != "" {
		fmt.Fprintf(&b, "created by:  %s\n", p.CreatedBy)
	}
	if langs := p.Languages(); len(langs) > 0 {
		fmt.Fprintf(&b, "languages:   %s (%s<code> attributes, for direction %s)\n", strings.Join(langs, " "), LanguagePrefix, DirectionLanguage)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		a := p.Attributes[name]
		if a == nil {
			fmt.Fprintf(&b, "\nattribute %s: empty\n", name)
			continue
		}
		fmt.Fprintf(&b, "\nattribute %s (desired: %s)\n", name, a.Desired)
		d := a.Data
		if d.Description != "" {
			fmt.Fprintf(&b, "  data:     %s\n", d.Description)
		}
		fmt.Fprintf(&b, "  samples:  %d (%d positive, %d negative), split %s, seed %d\n", d.Samples, d.Positive, d.Negative, cmp.Or(d.Split, "?"), d.Seed)
		var n, high int
		var sum float64
		maxAcc := math.Inf(-1)
		for _, row := range a.Accuracy {
			for _, v := range row {
				n++
				sum += v
				maxAcc = max(maxAcc, v)
				if v >= 0.9 {
					high++
				}
			}
		}
		if n > 0 {
			fmt.Fprintf(&b, "  accuracy: mean %.3f, max %.3f, %d of %d heads >= 0.9\n", sum/float64(n), maxAcc, high, n)
		}
		fmt.Fprintf(&b, "  selected: %d heads\n", len(a.Heads))
		top := a.Heads[:min(10, len(a.Heads))]
		if len(top) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  top %d:\n", len(top))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "    rank\tlayer\thead\taccuracy\tsigma probe\tsigma mass-mean\t\n")
		for i, h := range top {
			fmt.Fprintf(tw, "    %d\t%d\t%d\t%.3f\t%.4g\t%.4g\t\n", i+1, h.Layer, h.Head, h.Accuracy, h.Probe.Sigma, h.MassMean.Sigma)
		}
		tw.Flush()
	}
	return b.String()
}
