package intoto

import (
	"errors"
	"strings"
	"testing"
)

func hexOf(c byte, n int) string { return strings.Repeat(string(c), n) }

func TestStrong(t *testing.T) {
	cases := []struct {
		alg, value string
		want       bool
	}{
		{"sha256", hexOf('a', 64), true},
		{"sha224", hexOf('a', 56), true},
		{"sha384", hexOf('a', 96), true},
		{"sha512", hexOf('a', 128), true},
		{"sha512_224", hexOf('a', 56), true},
		{"sha512_256", hexOf('a', 64), true},
		{"sha3_224", hexOf('a', 56), true},
		{"sha3_256", hexOf('a', 64), true},
		{"sha3_384", hexOf('a', 96), true},
		{"sha3_512", hexOf('a', 128), true},
		{"gitCommit", hexOf('a', 40), true},
		{"gitCommit", hexOf('a', 64), true},
		{"gitTag", hexOf('a', 40), true},
		{"gitTree", hexOf('a', 64), true},
		{"gitBlob", hexOf('a', 64), true},
		{"dirHash", hexOf('a', 64), true},
		{"goModuleH1", hexOf('a', 64), true},
		// Weak algorithms, at any length.
		{"md5", hexOf('a', 32), false},
		{"sha1", hexOf('a', 40), false},
		{"ripemd160", hexOf('a', 40), false},
		{"gitTree", hexOf('a', 40), false},
		{"gitBlob", hexOf('a', 40), false},
		{"shake256", hexOf('a', 64), false},
		{"blake2b", hexOf('a', 128), false},
		{"sm3", hexOf('a', 64), false},
		// Unknown and look-alike names.
		{"crc32", hexOf('a', 8), false},
		{"crc32c", hexOf('a', 64), false},
		{"foo", hexOf('a', 64), false},
		{"SHA256", hexOf('a', 64), false},
		{"Sha256", hexOf('a', 64), false},
		{"sha-256", hexOf('a', 64), false},
		{"sha256 ", hexOf('a', 64), false},
		{" sha256", hexOf('a', 64), false},
		{"sha_256", hexOf('a', 64), false},
		{"sha3-256", hexOf('a', 64), false},
		{"gitcommit", hexOf('a', 40), false},
		{"GITCOMMIT", hexOf('a', 40), false},
		{"dirhash", hexOf('a', 64), false},
		{"sha256\x00", hexOf('a', 64), false},
		{"", hexOf('a', 64), false},
		// Malformed values.
		{"sha256", hexOf('a', 63), false},
		{"sha256", hexOf('a', 65), false},
		{"sha256", hexOf('A', 64), false},
		{"sha256", hexOf('a', 63) + "G", false},
		{"sha256", "", false},
		{"sha256", " " + hexOf('a', 63), false},
		{"sha256", hexOf('a', 62) + "\u00e9", false},
		{"gitCommit", hexOf('a', 39), false},
		{"gitCommit", hexOf('a', 41), false},
		{"sha512", hexOf('a', 64), false},
	}
	for _, c := range cases {
		if got := Strong(c.alg, c.value); got != c.want {
			t.Errorf("Strong(%q, %d digits %.8q...) = %v, want %v", c.alg, len(c.value), c.value, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := []DigestSet{
		{"sha256": hexOf('a', 64)},
		{"sha1": hexOf('a', 40)},
		{"md5": hexOf('a', 32), "sha256": hexOf('b', 64)},
		{"gitCommit": hexOf('c', 40)},
		{"gitTree": hexOf('c', 40)},
		{"shake128": hexOf('c', 10)},
		{"foo": "ANY value at all"},     // unknown names are allowed, never strong
		{"sha256x": hexOf('a', 64)},     // not a spelling of a known name
		{"dirHash1": hexOf('a', 64)},    // the spec's typo: unknown
		{"\u0455ha256": hexOf('a', 64)}, // Cyrillic: unknown, never strong
		{"crc32": "deadbeef"},           // unknown
		{"custom": "base64+/=="},        // unknown
		{"sha512_256": hexOf('d', 64)},
		{"sha3_224": hexOf('d', 56)},
		{"goModuleH1": hexOf('e', 64)},
		{"gitBlob": hexOf('e', 64)},
		{"sm3": hexOf('e', 64)},
		{"blake2s": hexOf('e', 64)},
		{"gost": hexOf('e', 128)},
		{"ripemd160": hexOf('e', 40)},
		{"sha224": hexOf('e', 56)},
		{"sha384": hexOf('e', 96)},
		{"gitTag": hexOf('e', 64)},
		{"sha3_512": hexOf('e', 128)},
		{"sha512_224": hexOf('e', 56)},
		{"sha3_384": hexOf('e', 96)},
		{"shake256": hexOf('e', 2)},
		{"blake2b": hexOf('e', 128)},
		{"sha3_256": hexOf('e', 64)},
		{"sha512": hexOf('e', 128)},
		{"dirHash": hexOf('e', 64)},
		{"gitCommit": hexOf('e', 64)},
		{"md5": hexOf('e', 32)},
		{"sha256": hexOf('0', 64)},
		{"x-sha256": hexOf('0', 64)},        // folds to "xsha256": unknown
		{"sha256sum": hexOf('0', 64)},       // unknown
		{"sha2": hexOf('0', 64)},            // unknown
		{"h1": "47DEQpj8HBSa+/TImW+5JCeuQ"}, // unknown
	}
	for _, d := range good {
		if err := d.Validate(); err != nil {
			t.Errorf("%v: %v", d, err)
		}
	}
	bad := map[string]DigestSet{
		"empty set":        {},
		"nil set":          nil,
		"empty name":       {"": hexOf('a', 64)},
		"empty value":      {"foo": ""},
		"empty sha256":     {"sha256": ""},
		"upper hex":        {"sha256": hexOf('A', 64)},
		"short":            {"sha256": hexOf('a', 63)},
		"long":             {"sha256": hexOf('a', 65)},
		"git 39":           {"gitCommit": hexOf('a', 39)},
		"md5 wrong length": {"md5": hexOf('a', 40)},
		"odd shake":        {"shake128": hexOf('a', 3)},
		"upper name":       {"SHA256": hexOf('a', 64)},
		"title name":       {"Sha256": hexOf('a', 64)},
		"dash name":        {"sha-256": hexOf('a', 64)},
		"space name":       {"sha256 ": hexOf('a', 64)},
		"nul name":         {"sha256\x00": hexOf('a', 64)},
		"zero width":       {"sha\u200b256": hexOf('a', 64)},
		"sha3 dash":        {"sha3-256": hexOf('a', 64)},
		"sha512/256":       {"SHA-512/256": hexOf('a', 64)},
		"md5 upper":        {"MD5": hexOf('a', 32)},
		"git lower":        {"gitcommit": hexOf('a', 40)},
		"dirhash lower":    {"dirhash": hexOf('a', 64)},
		"h1 lower":         {"gomoduleh1": hexOf('a', 64)},
		"beside canonical": {"sha256": hexOf('a', 64), "SHA256": hexOf('b', 64)},
	}
	for name, d := range bad {
		if err := d.Validate(); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("%s: %v, want ErrInvalidDigest", name, err)
		}
		if d.valid() {
			t.Errorf("%s: valid() disagrees with Validate", name)
		}
	}
}

// TestTableSpellings: no two canonical names fold together (else a
// canonical name would be refused as a look-alike of another), and every
// name appears once.
func TestTableSpellings(t *testing.T) {
	rows := table()
	for i, a := range rows {
		for _, b := range rows[i+1:] {
			if foldEqual(a.name, b.name) {
				t.Errorf("%q and %q fold together", a.name, b.name)
			}
		}
		if lookalike(a.name) != "" {
			t.Errorf("%q is taken for a look-alike", a.name)
		}
		for _, l := range a.lens {
			if l.strong && l.n <= 0 {
				t.Errorf("%q: strong without a fixed length", a.name)
			}
			if n := max(l.n, 2); l.n != 0 && (DigestSet{a.name: hexOf('a', n)}).Validate() != nil {
				t.Errorf("%q of %d digits does not validate", a.name, n)
			}
		}
	}
}

func TestMatchesStrong(t *testing.T) {
	a, b := hexOf('a', 64), hexOf('b', 64)
	m5 := hexOf('5', 32)
	cases := []struct {
		name string
		x, y DigestSet
		want bool
	}{
		{"same sha256", DigestSet{"sha256": a}, DigestSet{"sha256": a}, true},
		{"extra algorithms on one side", DigestSet{"sha256": a, "sha512": hexOf('c', 128)}, DigestSet{"sha256": a}, true},
		{"weak agreement too", DigestSet{"sha256": a, "md5": m5}, DigestSet{"sha256": a, "md5": m5}, true},
		{"different sha256", DigestSet{"sha256": a}, DigestSet{"sha256": b}, false},
		{"md5 only", DigestSet{"md5": m5}, DigestSet{"md5": m5}, false},
		{"sha1 only", DigestSet{"sha1": hexOf('1', 40)}, DigestSet{"sha1": hexOf('1', 40)}, false},
		{"unknown only", DigestSet{"foo": a}, DigestSet{"foo": a}, false},
		{"crc32 only", DigestSet{"crc32": "deadbeef"}, DigestSet{"crc32": "deadbeef"}, false},
		{"gitTree sha1 only", DigestSet{"gitTree": hexOf('1', 40)}, DigestSet{"gitTree": hexOf('1', 40)}, false},
		{"strong agrees, weak disagrees", DigestSet{"sha256": a, "md5": m5}, DigestSet{"sha256": a, "md5": hexOf('6', 32)}, false},
		{"strong agrees, unknown disagrees", DigestSet{"sha256": a, "foo": "x"}, DigestSet{"sha256": a, "foo": "y"}, false},
		{"differently cased algorithm", DigestSet{"SHA256": a}, DigestSet{"sha256": a}, false},
		{"differently cased on both", DigestSet{"SHA256": a}, DigestSet{"SHA256": a}, false},
		{"look-alike beside the canonical", DigestSet{"sha256": a, "SHA256": b}, DigestSet{"sha256": a}, false},
		{"look-alike in the expectation", DigestSet{"sha256": a}, DigestSet{"sha256": a, "Sha256": a}, false},
		{"uppercase hex", DigestSet{"sha256": strings.ToUpper(a)}, DigestSet{"sha256": strings.ToUpper(a)}, false},
		{"short hex", DigestSet{"sha256": a[:63]}, DigestSet{"sha256": a[:63]}, false},
		{"empty", DigestSet{}, DigestSet{"sha256": a}, false},
		{"nil", nil, nil, false},
	}
	for _, c := range cases {
		if got := c.x.MatchesStrong(c.y); got != c.want {
			t.Errorf("%s: %v.MatchesStrong(%v) = %v", c.name, c.x, c.y, got)
		}
		if got := c.y.MatchesStrong(c.x); got != c.want {
			t.Errorf("%s (swapped): %v", c.name, got)
		}
	}
}

func TestStrongSet(t *testing.T) {
	a := hexOf('a', 64)
	d := DigestSet{"sha256": a, "md5": hexOf('5', 32), "SHA512": hexOf('b', 128), "gitCommit": hexOf('c', 40), "foo": a}
	got := d.Strong()
	if len(got) != 2 || got["sha256"] != a || got["gitCommit"] != hexOf('c', 40) {
		t.Fatalf("Strong() = %v", got)
	}
	if (DigestSet{"md5": hexOf('5', 32)}).Strong() != nil || (DigestSet{"md5": hexOf('5', 32)}).HasStrong() {
		t.Fatal("weak-only set has strong entries")
	}
	if !d.HasStrong() {
		t.Fatal("HasStrong")
	}
}

func TestFoldEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"sha256", "SHA256", true}, {"sha256", "sha-256", true}, {"sha256", " sha256 ", true},
		{"sha3_256", "SHA3-256", true}, {"dirHash", "dirhash", true}, {"sha256", "sha2567", false},
		{"sha256", "sha25", false}, {"", "-", true}, {"md5", "md 5\x00", true}, {"sha1", "sha11", false},
	} {
		if got := foldEqual(c.a, c.b); got != c.want {
			t.Errorf("foldEqual(%q, %q) = %v", c.a, c.b, got)
		}
		if got := foldEqual(c.b, c.a); got != c.want {
			t.Errorf("foldEqual(%q, %q) = %v", c.b, c.a, got)
		}
	}
}
