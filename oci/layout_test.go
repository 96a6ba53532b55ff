package oci_test

import (
	"errors"
	"testing"

	"github.com/slsakit/slsakit/oci"
)

// TestParseLayout: every layout reads back from its name, and nothing
// else reads as a layout (no case folding, no spaces, no numbers), so a
// flag never selects a layout its user did not write.
func TestParseLayout(t *testing.T) {
	for _, l := range []oci.Layout{oci.Referrers, oci.Legacy, oci.Both} {
		got, err := oci.ParseLayout(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLayout(%q) = %v, %v", l.String(), got, err)
		}
	}
	for _, s := range []string{"", "Referrers", "LEGACY", " both", "both ", "3", "Layout(3)", "referrer", "att"} {
		if l, err := oci.ParseLayout(s); !errors.Is(err, oci.ErrInvalidArgument) {
			t.Errorf("ParseLayout(%q) = %v, %v; want ErrInvalidArgument", s, l, err)
		}
	}
}
