package intoto

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Algorithm names of the in-toto digest-set specification (v1) that
// slsakit writes or checks by name.
const (
	// AlgSHA256 is SHA-256 of the artifact bytes.
	AlgSHA256 = "sha256"
	// AlgSHA384 is SHA-384 of the artifact bytes.
	AlgSHA384 = "sha384"
	// AlgSHA512 is SHA-512 of the artifact bytes.
	AlgSHA512 = "sha512"
	// AlgGitCommit is the hex id of a git commit object (40 digits for
	// SHA-1 repositories, 64 for SHA-256 ones).
	AlgGitCommit = "gitCommit"
	// AlgGitTree is the hex id of a git tree object.
	AlgGitTree = "gitTree"
	// AlgDirHash is Go's dirhash "h1" tree hash in lowercase hex (in-toto
	// digest-set spec v1; the v0.1 spec called it goModuleH1). A Go module
	// sum "h1:<base64>" is exactly this hash of the module's files under the
	// "path@version/" prefix, so module sums are recorded under this name,
	// never as sha256: it is not the SHA-256 of anything a user downloads.
	AlgDirHash = "dirHash"
	// AlgGoModuleH1 is the in-toto v0.1 name of AlgDirHash.
	AlgGoModuleH1 = "goModuleH1"
)

// ErrInvalidDigest is wrapped by every error about a malformed digest set.
var ErrInvalidDigest = errors.New("intoto: invalid digest")

// hexLen is one length (in hex digits) a value of an algorithm may have,
// and whether a value of that length is strong. n < 0: the specification
// fixes no length (any even number of digits), never strong.
type hexLen struct {
	n      int
	strong bool
}

// algorithm is one row of the table.
type algorithm struct {
	name string
	lens [2]hexLen // a zero entry is unused
}

func weak(n int) [2]hexLen   { return [2]hexLen{{n: n}} }
func strong(n int) [2]hexLen { return [2]hexLen{{n: n, strong: true}} }

// table is the one list of digest algorithms slsakit knows: every name of
// the in-toto digest-set specification v1 (plus goModuleH1 of v0.1), with
// the hex lengths its values may have and which of them are strong. It is
// a function returning an array so that nothing can change it.
//
// Strong means collision resistance an attacker cannot reach: SHA-2 and
// SHA-3 (the 224-bit variants give 112 bits, the floor NIST SP 800-131A
// still accepts; sha224 is there for the same reason as sha512_224 and
// sha3_224). md5, sha1 and ripemd160 are broken or too short; the
// variable-length and national algorithms are recognized so that their
// values are checked, but not trusted to pin anything.
//
// Git object ids: 64 digits (SHA-256 object format) are strong. 40 digits
// are SHA-1, but git computes commit and tag ids with SHA-1DC, which
// refuses the known collision attacks, and a commit id is the only pin a
// git source has; so gitCommit and gitTag of 40 digits are strong. gitTree
// and gitBlob may, by the specification, be computed over arbitrary files
// outside git with plain SHA-1, so at 40 digits they are not.
func table() [25]algorithm {
	return [...]algorithm{
		{"md5", weak(32)},
		{"sha1", weak(40)},
		{"ripemd160", weak(40)},
		{"sha224", strong(56)},
		{"sha256", strong(64)},
		{"sha384", strong(96)},
		{"sha512", strong(128)},
		{"sha512_224", strong(56)},
		{"sha512_256", strong(64)},
		{"sha3_224", strong(56)},
		{"sha3_256", strong(64)},
		{"sha3_384", strong(96)},
		{"sha3_512", strong(128)},
		{"shake128", weak(-1)},
		{"shake256", weak(-1)},
		{"blake2b", weak(-1)},
		{"blake2s", weak(-1)},
		{"sm3", weak(64)},
		{"gost", weak(-1)},
		{"gitCommit", [2]hexLen{{40, true}, {64, true}}},
		{"gitTag", [2]hexLen{{40, true}, {64, true}}},
		{"gitTree", [2]hexLen{{40, false}, {64, true}}},
		{"gitBlob", [2]hexLen{{40, false}, {64, true}}},
		// dirHash and goModuleH1 are SHA-256 over sorted SHA-256 sums.
		{"dirHash", strong(64)},
		{"goModuleH1", strong(64)},
	}
}

func lookup(alg string) (algorithm, bool) {
	for _, a := range table() {
		if a.name == alg {
			return a, true
		}
	}
	return algorithm{}, false
}

// foldEqual reports whether a and b are equal once reduced to ASCII
// lowercase letters and digits, so that spellings a lenient reader would
// take for the same algorithm ("SHA256", "sha-256", "sha256 ", "sha3-256",
// "dirhash") compare equal. It does not allocate.
func foldEqual(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && folded(a[i]) == 0 {
			i++
		}
		for j < len(b) && folded(b[j]) == 0 {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if folded(a[i]) != folded(b[j]) {
			return false
		}
		i++
		j++
	}
}

// folded maps a byte to its lowercase letter or digit, or 0 when folding
// drops it.
func folded(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return c
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return 0
}

// lookalike returns the known algorithm that alg is a non-canonical
// spelling of, or "".
func lookalike(alg string) string {
	for _, a := range table() {
		if a.name != alg && foldEqual(a.name, alg) {
			return a.name
		}
	}
	return ""
}

// check classifies one entry: known is false for an algorithm not in the
// table; err is set when the entry is malformed (an empty name or value,
// a look-alike of a known name, or a known algorithm's value that is not
// lowercase hex of one of its lengths).
func check(alg, value string) (known, strong bool, err error) {
	if alg == "" {
		return false, false, fmt.Errorf("%w: empty algorithm name", ErrInvalidDigest)
	}
	if value == "" {
		return false, false, fmt.Errorf("%w: %q: empty value", ErrInvalidDigest, alg)
	}
	a, ok := lookup(alg)
	if !ok {
		if canon := lookalike(alg); canon != "" {
			return false, false, fmt.Errorf("%w: algorithm %q is not the canonical spelling %q", ErrInvalidDigest, alg, canon)
		}
		return false, false, nil
	}
	if !isLowerHex(value) {
		return true, false, fmt.Errorf("%w: %s: not lowercase hex", ErrInvalidDigest, alg)
	}
	var want []int
	for _, l := range a.lens {
		switch {
		case l.n < 0 && len(value)%2 == 0:
			return true, false, nil
		case l.n < 0:
			return true, false, fmt.Errorf("%w: %s: odd number of hex digits", ErrInvalidDigest, alg)
		case l.n > 0 && len(value) == l.n:
			return true, l.strong, nil
		case l.n > 0:
			want = append(want, l.n)
		}
	}
	return true, false, fmt.Errorf("%w: %s: %d hex digits, want %v", ErrInvalidDigest, alg, len(value), want)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Strong reports whether value is a strong digest under the algorithm
// named alg: alg is a strong algorithm of the table, spelled exactly as
// the in-toto specification does, and value is lowercase hex of a length
// at which it is strong.
func Strong(alg, value string) bool {
	_, s, err := check(alg, value)
	return err == nil && s
}

// DigestSet maps an in-toto digest algorithm name (sha256, sha512,
// gitCommit, dirHash, ...) to its value, lowercase hex for every algorithm
// of the table.
type DigestSet map[string]string

// String renders the set with algorithms in sorted order.
func (d DigestSet) String() string {
	keys := d.algorithms()
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + d[k]
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func (d DigestSet) algorithms() []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Clone returns a copy of d (nil for nil).
func (d DigestSet) Clone() DigestSet {
	if d == nil {
		return nil
	}
	c := make(DigestSet, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}

// Matches reports whether d and o share at least one algorithm and agree on
// every algorithm they share (in-toto's matching rule, made strict about
// disagreement). Any algorithm counts, weak or unknown: use MatchesStrong
// to decide whether two sets name the same artifact.
func (d DigestSet) Matches(o DigestSet) bool {
	common := 0
	for alg, v := range d {
		if ov, ok := o[alg]; ok {
			if ov != v {
				return false
			}
			common++
		}
	}
	return common > 0
}

// MatchesStrong reports whether d and o name the same artifact: both sets
// validate, they agree on every algorithm they share (weak and unknown
// ones included: a disagreement anywhere is a different artifact or a
// forgery), and they share at least one strong value. A set holding a
// look-alike spelling of a known algorithm ("SHA256") does not validate,
// so it matches nothing, not even through its canonical entries: a reader
// that folds case could see a different sha256 in it.
func (d DigestSet) MatchesStrong(o DigestSet) bool {
	if !d.valid() || !o.valid() {
		return false
	}
	shared := false
	for alg, v := range d {
		ov, ok := o[alg]
		if !ok {
			continue
		}
		if ov != v {
			return false
		}
		shared = shared || Strong(alg, v)
	}
	return shared
}

// HasStrong reports whether some entry of d is strong (see Strong).
func (d DigestSet) HasStrong() bool {
	for alg, v := range d {
		if Strong(alg, v) {
			return true
		}
	}
	return false
}

// Strong returns the entries of d that are strong (see Strong), or nil
// when there are none.
func (d DigestSet) Strong() DigestSet {
	var out DigestSet
	for alg, v := range d {
		if Strong(alg, v) {
			if out == nil {
				out = DigestSet{}
			}
			out[alg] = v
		}
	}
	return out
}

// Validate checks that the set is non-empty, that no name or value is
// empty, that no name is a look-alike spelling of a known algorithm
// ("SHA256", "sha-256", "Sha256 "), and that every value of a known
// algorithm is lowercase hex of one of its lengths. Other algorithm names
// are allowed with any value, as the specification allows; they never
// count as strong. Errors wrap ErrInvalidDigest.
func (d DigestSet) Validate() error {
	if len(d) == 0 {
		return fmt.Errorf("%w: empty digest set", ErrInvalidDigest)
	}
	if d.valid() {
		return nil
	}
	// Sorted, so that the error names the same entry every time.
	for _, alg := range d.algorithms() {
		if _, _, err := check(alg, d[alg]); err != nil {
			return err
		}
	}
	return nil
}

// valid is Validate without building an error or sorting.
func (d DigestSet) valid() bool {
	if len(d) == 0 {
		return false
	}
	for alg, v := range d {
		if _, _, err := check(alg, v); err != nil {
			return false
		}
	}
	return true
}
