package hashivault_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/kms/hashivault"
)

// cosignKeyName is the transit key name cosign accepts; ParseReference
// must accept exactly the names it does.
var cosignKeyName = regexp.MustCompile(`^\w(?:[\w.-]{0,254}\w)?$`)

// TestParseReferenceKeyNameClass checks ParseReference against cosign's
// pattern on every string of up to 3 characters over an alphabet with one
// of each class (word, '.', '-', other ASCII, non-ASCII, NUL, slash) and on
// names at the length bounds.
func TestParseReferenceKeyNameClass(t *testing.T) {
	alphabet := []string{"a", "Z", "0", "_", ".", "-", " ", "/", "é", "\x00", "\n", "ｗ"}
	names := []string{""}
	for range 3 {
		var next []string
		for _, n := range names {
			for _, c := range alphabet {
				next = append(next, n+c)
			}
		}
		names = append(names, next...)
	}
	for _, n := range []int{254, 255, 256, 257, 1000} {
		names = append(names, strings.Repeat("k", n), "k"+strings.Repeat(".", n-2)+"k", strings.Repeat("k", n-1)+"-")
	}
	for _, n := range names {
		for _, scheme := range []string{hashivault.Scheme, hashivault.OpenBaoScheme} {
			got, err := hashivault.ParseReference(scheme + n)
			want := cosignKeyName.MatchString(n)
			if want != (err == nil) || (want && got != n) {
				t.Fatalf("ParseReference(%q) = %q, %v; cosign accepts it: %v", scheme+n, got, err, want)
			}
			if err != nil && !errors.Is(err, hashivault.ErrInvalidReference) {
				t.Fatalf("ParseReference(%q): %v does not wrap ErrInvalidReference", scheme+n, err)
			}
		}
	}
}
