package kms

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	const key = "projects/my-proj/locations/us-east1/keyRings/ring_1/cryptoKeys/Key-2"
	good := []struct {
		in, canonical, version string
	}{
		{"gcpkms://" + key, "gcpkms://" + key, ""},
		{"gcpkms://" + key + "/cryptoKeyVersions/1", "gcpkms://" + key + "/cryptoKeyVersions/1", "1"},
		{"gcpkms://" + key + "/versions/42", "gcpkms://" + key + "/cryptoKeyVersions/42", "42"},
		{"gcpkms://projects/example.com:proj/locations/global/keyRings/r/cryptoKeys/k", "gcpkms://projects/example.com:proj/locations/global/keyRings/r/cryptoKeys/k", ""},
		{"gcpkms://projects/123456789/locations/global/keyRings/r/cryptoKeys/k", "gcpkms://projects/123456789/locations/global/keyRings/r/cryptoKeys/k", ""},
	}
	for _, tc := range good {
		r, err := ParseReference(tc.in)
		if err != nil {
			t.Errorf("ParseReference(%q): %v", tc.in, err)
			continue
		}
		if r.String() != tc.canonical || r.Version != tc.version {
			t.Errorf("ParseReference(%q) = %q version %q, want %q version %q", tc.in, r.String(), r.Version, tc.canonical, tc.version)
		}
		if tc.version != "" && !strings.HasPrefix(r.VersionName(), r.KeyName()+"/cryptoKeyVersions/") {
			t.Errorf("VersionName %q not under KeyName %q", r.VersionName(), r.KeyName())
		}
	}
	r, _ := ParseReference("gcpkms://" + key)
	if r.Project != "my-proj" || r.Location != "us-east1" || r.KeyRing != "ring_1" || r.Key != "Key-2" || r.VersionName() != "" {
		t.Errorf("fields: %+v", r)
	}

	bad := []string{
		"",
		key,
		"gcpkms:/" + key,
		"GCPKMS://" + key,
		"awskms://" + key,
		"gcpkms://" + key + "/",
		"gcpkms:///" + key,
		"gcpkms://" + key + "/cryptoKeyVersions/",
		"gcpkms://" + key + "/cryptoKeyVersions/0",
		"gcpkms://" + key + "/cryptoKeyVersions/01",
		"gcpkms://" + key + "/cryptoKeyVersions/-1",
		"gcpkms://" + key + "/cryptoKeyVersions/1a",
		"gcpkms://" + key + "/cryptoKeyVersions/1/extra",
		"gcpkms://" + key + "/cryptokeyversions/1",
		"gcpkms://" + key + "?x=1",
		"gcpkms://" + key + "#frag",
		"gcpkms://" + key + "%2F",
		"gcpkms://" + key + " ",
		"gcpkms://projects/p/locations/l/keyRings/r",
		"gcpkms://projects//locations/l/keyRings/r/cryptoKeys/k",
		"gcpkms://projects/p/locations/l/keyRings/../cryptoKeys/k",
		"gcpkms://projects/P/locations/l/keyRings/r/cryptoKeys/k",
		"gcpkms://projects/p/locations/L/keyRings/r/cryptoKeys/k",
		"gcpkms://projects/p/locations/l/keyRings/r.x/cryptoKeys/k",
		"gcpkms://projects/p/locations/l/keyrings/r/cryptoKeys/k",
		"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/" + strings.Repeat("k", 64),
		"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1234567890123456789",
		"gcpkms://" + strings.Repeat("a/", 600),
	}
	for _, in := range bad {
		if r, err := ParseReference(in); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("ParseReference(%q) = %+v, %v; want ErrInvalidReference", in, r, err)
		}
	}
}
