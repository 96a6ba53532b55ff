package sbom

import (
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

// TestSubjectDigestRules: statement subjects follow intoto's one digest
// table, not the four algorithms sbom used to check; on main every case
// here was written into a statement.
func TestSubjectDigestRules(t *testing.T) {
	s := sampleSBOM()
	hex := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	for name, d := range map[string]map[string]string{
		"look-alike SHA256":  {"SHA256": hex('a', 64)},
		"look-alike sha-256": {"sha-256": hex('a', 64)},
		"trailing blank":     {"sha256 ": hex('a', 64)},
		"sha512_256 short":   {"sha512_256": hex('a', 63)},
		"sha3_256 upper":     {"sha3_256": hex('A', 64)},
		"gitCommit 39":       {"gitCommit": hex('a', 39)},
		"dirHash 40":         {"dirHash": hex('a', 40)},
		"md5 64":             {"md5": hex('a', 64)},
		"sha224 not hex":     {"sha224": hex('z', 56)},
	} {
		sub := intoto.ResourceDescriptor{Name: "x", Digest: d}
		for _, f := range []func() ([]byte, error){
			func() ([]byte, error) { return s.SPDXStatement(sub) },
			func() ([]byte, error) { return s.CycloneDXStatement([]intoto.ResourceDescriptor{sub}) },
		} {
			if _, err := f(); !errors.Is(err, ErrInvalidSubject) || !errors.Is(err, intoto.ErrInvalidDigest) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	// Valid digests of every family still write.
	for _, d := range []map[string]string{
		{"sha256": hex('a', 64)}, {"sha3_512": hex('b', 128)}, {"gitCommit": hex('c', 40)},
		{"dirHash": hex('d', 64)}, {"sha256": hex('a', 64), "customAlg": "opaque"},
	} {
		if _, err := s.SPDXStatement(intoto.ResourceDescriptor{Name: "x", Digest: d}); err != nil {
			t.Errorf("%v: %v", d, err)
		}
	}
}
