package profile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Merge combines profiles of the same model into one, e.g. an AC-only and a
// CL-only profile probed separately. It fails when the models differ (see
// CheckModel) or when two profiles define the same attribute (which one to
// keep is the user's decision). The result is a deep copy; it takes the
// fingerprint and file name from the first profile that has them.
func Merge(profiles ...*Profile) (*Profile, error) {
	if len(profiles) == 0 {
		return nil, errors.New("merge profiles: no profiles")
	}
	for i, p := range profiles {
		if p == nil {
			return nil, fmt.Errorf("merge profiles: profile %d is nil", i+1)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("merge profiles: profile %d: %w", i+1, err)
		}
	}
	first := profiles[0]
	out := &Profile{
		Version:    first.Version,
		Kind:       first.Kind,
		Model:      first.Model,
		Attributes: map[string]*Attribute{},
	}
	from := map[string]int{}
	var createdBy, conventions []string
	for i, p := range profiles {
		if i > 0 {
			if err := p.CheckModel(out.Model); err != nil {
				return nil, fmt.Errorf("merge profiles: profile %d does not match profile 1: %w", i+1, err)
			}
		}
		if out.Model.Fingerprint == "" {
			out.Model.Fingerprint = p.Model.Fingerprint
		}
		if out.Model.File == "" {
			out.Model.File = p.Model.File
		}
		if out.Model.Architecture == "" {
			out.Model.Architecture = p.Model.Architecture
		}
		if p.CreatedBy != "" && !slices.Contains(createdBy, p.CreatedBy) {
			createdBy = append(createdBy, p.CreatedBy)
		}
		if p.SignConvention != "" && !slices.Contains(conventions, p.SignConvention) {
			conventions = append(conventions, p.SignConvention)
		}
		for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
			if j, dup := from[name]; dup {
				return nil, fmt.Errorf("merge profiles: attribute %q is defined by both profile %d and profile %d; merge profiles that probe different attributes", name, j+1, i+1)
			}
			from[name] = i
			out.Attributes[name] = p.Attributes[name].clone()
		}
	}
	out.CreatedBy = strings.Join(createdBy, "; ")
	out.SignConvention = strings.Join(conventions, "\n")
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("merge profiles: %w", err)
	}
	return out, nil
}

func (a *Attribute) clone() *Attribute {
	c := *a
	c.Accuracy = make([][]float64, len(a.Accuracy))
	for i, row := range a.Accuracy {
		c.Accuracy[i] = slices.Clone(row)
	}
	c.Heads = make([]HeadEntry, len(a.Heads))
	for i, h := range a.Heads {
		h.Probe.Vector = slices.Clone(h.Probe.Vector)
		h.MassMean.Vector = slices.Clone(h.MassMean.Vector)
		c.Heads[i] = h
	}
	return &c
}
