package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/asmr-search/generative-asmr/profile"
)

// profileUsage is the help of `asmr profile`.
const profileUsage = `usage: asmr profile show p.yaml
       asmr profile merge -o out.yaml a.yaml b.yaml ...

Show or merge steering profiles.

  show   print a profile's model, attributes and best heads
  merge  combine profiles of one model (e.g. AC and CL probed apart, or the
         language attributes LANG.* added to a profile) into one

Run 'asmr profile show -h' or 'asmr profile merge -h' for their flags.
`

// runProfile handles `asmr profile show|merge`.
func runProfile(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, profileUsage)
		return fmt.Errorf("want a subcommand: show or merge")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stderr, profileUsage)
		return flag.ErrHelp
	case "show":
		fs := newFlags("profile", "show p.yaml")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: asmr profile show p.yaml")
		}
		p, err := profile.Load(fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Print(p.Summary())
		return nil
	case "merge":
		fs := newFlags("profile", "merge -o out.yaml a.yaml b.yaml ...")
		out := fs.String("o", "", "merged profile to write (required)")
		replace := fs.Bool("replace", false, "an attribute of a later profile replaces the same attribute of earlier ones (e.g. LANG.* probed again), instead of being an error")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" || fs.NArg() < 2 {
			return fmt.Errorf("usage: asmr profile merge -o out.yaml a.yaml b.yaml ...")
		}
		var ps []*profile.Profile
		for _, path := range fs.Args() {
			p, err := profile.Load(path)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		if *replace {
			ps = dropReplaced(ps)
		}
		merged, err := profile.Merge(ps...)
		if err != nil {
			return err
		}
		if err := merged.Save(*out); err != nil {
			return err
		}
		fmt.Printf("wrote %s with attributes %s\n", *out, strings.Join(slices.Sorted(maps.Keys(merged.Attributes)), " "))
		return nil
	}
	return fmt.Errorf("profile %q: want show or merge (see asmr profile -h)", args[0])
}

// dropReplaced removes from each profile the attributes that a later one
// defines, so that merging keeps the last definition (merge -replace). A
// profile left without attributes is dropped.
func dropReplaced(ps []*profile.Profile) []*profile.Profile {
	later := map[string]bool{}
	keep := make([]bool, len(ps))
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		for name := range p.Attributes {
			if later[name] {
				delete(p.Attributes, name)
			}
		}
		for name := range p.Attributes {
			later[name] = true
		}
		keep[i] = len(p.Attributes) > 0
	}
	var out []*profile.Profile
	for i, p := range ps {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}
