package profile

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	full := tinyProfile()
	acOnly := cloneProfile(full)
	delete(acOnly.Attributes, AttributeCL)
	clOnly := cloneProfile(full)
	delete(clOnly.Attributes, AttributeAC)
	clOnly.Model.Fingerprint = "sha256:" + strings.Repeat("c", 64)
	clOnly.CreatedBy = "asmr probe (other run)"

	m, err := Merge(acOnly, clOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attributes) != 2 {
		t.Fatalf("merged attributes: %v", slices.Sorted(maps.Keys(m.Attributes)))
	}
	if !reflect.DeepEqual(m.Attributes, full.Attributes) {
		t.Fatal("merged attributes differ from the originals")
	}
	if m.Model.Fingerprint != clOnly.Model.Fingerprint {
		t.Errorf("fingerprint %q not taken from the profile that has one", m.Model.Fingerprint)
	}
	if m.CreatedBy != "asmr probe (test fixture); asmr probe (other run)" {
		t.Errorf("createdBy %q", m.CreatedBy)
	}
	if m.SignConvention != DefaultSignConvention {
		t.Errorf("signConvention %q", m.SignConvention)
	}
	// Deep copy: changing the result leaves the inputs alone.
	m.Attributes[AttributeAC].Heads[0].Probe.Vector[0] = 42
	m.Attributes[AttributeAC].Accuracy[0][0] = -7
	if acOnly.Attributes[AttributeAC].Heads[0].Probe.Vector[0] == 42 || acOnly.Attributes[AttributeAC].Accuracy[0][0] == -7 {
		t.Error("merge result aliases its input")
	}
	// One profile: a copy.
	if one, err := Merge(full); err != nil || !reflect.DeepEqual(one, full) {
		t.Errorf("Merge(one): %v", err)
	}

	_, err = Merge(acOnly, full)
	if err == nil || !strings.Contains(err.Error(), `attribute "AC" is defined by both profile 1 and profile 2`) {
		t.Fatalf("clash: %v", err)
	}

	otherModel := cloneProfile(clOnly)
	otherModel.Model.Heads = 8
	otherModel.Attributes[AttributeCL].Accuracy = [][]float64{
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
		{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
	}
	for i := range otherModel.Attributes[AttributeCL].Heads {
		otherModel.Attributes[AttributeCL].Heads[i].Accuracy = 0.5
	}
	if err := otherModel.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(acOnly, otherModel)
	if !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), "profile 2 does not match profile 1") {
		t.Fatalf("model mismatch: %v", err)
	}

	fp := cloneProfile(acOnly)
	fp.Model.Fingerprint = "sha256:" + strings.Repeat("d", 64)
	if _, err := Merge(fp, clOnly); !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("fingerprint mismatch: %v", err)
	}

	if _, err := Merge(); err == nil {
		t.Error("Merge() succeeded")
	}
	if _, err := Merge(acOnly, nil); err == nil {
		t.Error("Merge with nil succeeded")
	}
	invalid := cloneProfile(clOnly)
	invalid.Kind = ""
	if _, err := Merge(acOnly, invalid); err == nil || !strings.Contains(err.Error(), "profile 2") {
		t.Errorf("Merge with an invalid profile: %v", err)
	}
}
