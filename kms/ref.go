package kms

import (
	"fmt"
	"strings"
)

// Scheme is the URI scheme of a GCP Cloud KMS key reference.
const Scheme = "gcpkms://"

// Reference names a Cloud KMS key, and optionally one version of it:
//
//	gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
//	gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V
//
// The cosign spelling ".../cryptoKeys/K/versions/V" is accepted too.
type Reference struct {
	Project  string
	Location string
	KeyRing  string
	Key      string
	// Version is the key version number, or "" for "the newest enabled one".
	Version string
}

// ParseReference parses a gcpkms:// reference strictly: exact segment
// names, no empty or dot segments, no query, fragment, percent-encoding or
// whitespace, and each ID within Cloud KMS's character set and length.
// Errors wrap ErrInvalidReference.
func ParseReference(ref string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w: %q: %s", ErrInvalidReference, truncate(ref, 300), why)
	}
	if len(ref) > 1024 {
		return bad("longer than 1024 bytes")
	}
	rest, ok := strings.CutPrefix(ref, Scheme)
	if !ok {
		return bad("want the prefix " + Scheme)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 8 && len(parts) != 10 {
		return bad("want projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]")
	}
	want := []string{"projects", "locations", "keyRings", "cryptoKeys"}
	for i, w := range want {
		if parts[2*i] != w {
			return bad(fmt.Sprintf("segment %d is %q, want %q", 2*i+1, truncate(parts[2*i], 40), w))
		}
	}
	r := Reference{Project: parts[1], Location: parts[3], KeyRing: parts[5], Key: parts[7]}
	if !validID(r.Project, 100, isProjectChar) {
		return bad("invalid project ID")
	}
	if !validID(r.Location, 63, isLocationChar) {
		return bad("invalid location")
	}
	if !validID(r.KeyRing, 63, isResourceChar) {
		return bad("invalid key ring ID")
	}
	if !validID(r.Key, 63, isResourceChar) {
		return bad("invalid crypto key ID")
	}
	if len(parts) == 10 {
		if parts[8] != "cryptoKeyVersions" && parts[8] != "versions" {
			return bad(fmt.Sprintf("segment 9 is %q, want \"cryptoKeyVersions\"", truncate(parts[8], 40)))
		}
		v := parts[9]
		if v == "" || len(v) > 18 || v[0] == '0' || strings.Trim(v, "0123456789") != "" {
			return bad("key version must be a positive decimal number")
		}
		r.Version = v
	}
	return r, nil
}

// KeyName returns the Cloud KMS resource name of the crypto key.
func (r Reference) KeyName() string {
	return "projects/" + r.Project + "/locations/" + r.Location + "/keyRings/" + r.KeyRing + "/cryptoKeys/" + r.Key
}

// VersionName returns the resource name of the key version, or "" when the
// reference names no version.
func (r Reference) VersionName() string {
	if r.Version == "" {
		return ""
	}
	return r.KeyName() + "/cryptoKeyVersions/" + r.Version
}

// String returns the canonical gcpkms:// form of the reference.
func (r Reference) String() string {
	if r.Version == "" {
		return Scheme + r.KeyName()
	}
	return Scheme + r.VersionName()
}

func validID(s string, maxLen int, ok func(byte) bool) bool {
	if s == "" || len(s) > maxLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isResourceChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isLocationChar(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }

// isProjectChar admits project IDs, project numbers and domain-scoped
// project IDs ("example.com:my-project").
func isProjectChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':'
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
