package provenance

import (
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

// TestDigestLookalikes: a digest set that spells a known algorithm another
// way ("SHA256", "sha-256", "sha256 ") is ambiguous between a reader that
// folds case and one that does not, so neither the reader (Parse) nor the
// writers (Recorder, ResourceDescriptor.Validate) accept it, in subjects,
// materials, builder dependencies or byproducts. On main these parsed and
// recorded as unknown algorithms.
func TestDigestLookalikes(t *testing.T) {
	golden := string(readTestdata(t, "statement.golden.json"))
	for _, alg := range []string{"SHA256", "Sha256", "sha-256", "sha256 ", "sha_256", "SHA-512", "GitCommit", "dirhash", "DIRHASH", "sha256\u200b"} {
		for where, old := range map[string]string{
			"subject":            `"sha256":"1111`,
			"material":           `"gitCommit":"aaaa`,
			"builder dependency": `"dirHash":"dddd`,
			"byproduct":          `"sha256":"cccc`,
		} {
			i := strings.Index(old, `":"`)
			doc := strings.Replace(golden, old, `"`+alg+old[i:], 1)
			if doc == golden {
				t.Fatalf("%s: tamper did not apply", where)
			}
			if _, err := Parse([]byte(doc)); !errors.Is(err, intoto.ErrInvalidDigest) || !errors.Is(err, intoto.ErrInvalidDigest) {
				t.Errorf("%s with %q: %v", where, alg, err)
			}
		}
		d := intoto.DigestSet{alg: hexOf('a', 64)}
		r := NewRecorder(Builder{ID: "https://example.com/b"}, "https://example.com/t")
		if err := r.AddSubject(intoto.ResourceDescriptor{Name: "x", Digest: d}); !errors.Is(err, intoto.ErrInvalidDigest) {
			t.Errorf("AddSubject %q: %v", alg, err)
		}
		if err := r.AddMaterial(intoto.ResourceDescriptor{URI: "https://example.com/x", Digest: d}); !errors.Is(err, intoto.ErrInvalidDigest) {
			t.Errorf("AddMaterial %q: %v", alg, err)
		}
	}
	// Unknown algorithms stay allowed, as the in-toto spec says.
	doc := strings.Replace(golden, `"sha256":"1111`, `"crc32":"1111`, 1)
	if _, err := Parse([]byte(doc)); err != nil {
		t.Fatalf("unknown algorithm: %v", err)
	}
}
