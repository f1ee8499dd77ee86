package config

// TEMPORARY: forwarding declarations for the packages not yet moved to
// package profile and internal/problems (cmd, eval, steering). Removed
// once they are.

import "github.com/asmr-search/generative-asmr/profile"

type (
	Profile       = profile.Profile
	Attribute     = profile.Attribute
	DataInfo      = profile.DataInfo
	Direction     = profile.Direction
	HeadEntry     = profile.HeadEntry
	DirectionKind = profile.DirectionKind
	ModelIdentity = profile.ModelIdentity
)

const (
	AttributeAC          = profile.AttributeAC
	AttributeCL          = profile.AttributeCL
	DirectionProbe       = profile.DirectionProbe
	DirectionMassMean    = profile.DirectionMassMean
	DefaultDirectionKind = profile.DefaultDirectionKind
)

var (
	ParseDirectionKind = profile.ParseDirectionKind
	LoadProfile        = profile.Load
	ParseProfile       = profile.Parse
	NewProfile         = profile.New
	Merge              = profile.Merge
	ModelFingerprint   = profile.ModelFingerprint
)
