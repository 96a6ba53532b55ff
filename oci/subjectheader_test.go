package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
)

// subjectHeader is a man in the middle (or a broken registry) that
// replaces the OCI-Subject header of manifest PUT responses.
type subjectHeader struct {
	values func(subject string) []string // nil: leave the header alone
}

func (s subjectHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodPut || !strings.Contains(req.URL.Path, "/manifests/") || s.values == nil {
		return resp, err
	}
	orig := resp.Header.Get("OCI-Subject")
	resp.Header.Del("OCI-Subject")
	for _, v := range s.values(orig) {
		resp.Header.Add("OCI-Subject", v)
	}
	return resp, nil
}

// TestOCISubjectHeaderVerified: the referrers tag is skipped only when the
// registry names the pushed subject in OCI-Subject. A registry without
// the referrers API that claims another subject, several, or garbage
// would otherwise leave the attestation listed nowhere.
func TestOCISubjectHeaderVerified(t *testing.T) {
	const other = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		name   string
		values func(image, orig string) []string
		// wantTag: the referrers tag schema index is written.
		wantTag map[bool]bool // by referrers API on
	}{
		{"as sent", nil, map[bool]bool{true: false, false: true}},
		{"another digest", func(string, string) []string { return []string{other} }, map[bool]bool{true: true, false: true}},
		{"garbage", func(string, string) []string { return []string{"yes"} }, map[bool]bool{true: true, false: true}},
		{"empty", func(string, string) []string { return []string{""} }, map[bool]bool{true: true, false: true}},
		{"subject in upper case", func(image, _ string) []string { return []string{strings.ToUpper(image)} }, map[bool]bool{true: true, false: true}},
		{"subject twice", func(image, _ string) []string { return []string{image, image} }, map[bool]bool{true: true, false: true}},
		{"subject and another", func(image, _ string) []string { return []string{image, other} }, map[bool]bool{true: true, false: true}},
	} {
		for _, refOn := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/referrersAPI=%v", tc.name, refOn), func(t *testing.T) {
				reg := ocitest.NewRegistry(t, ocitest.WithReferrers(refOn))
				image := reg.PushRandomImage(t, "app")
				d := mustDigest(t, image)
				rt := subjectHeader{}
				if tc.values != nil {
					rt.values = func(orig string) []string { return tc.values(d.DigestStr(), orig) }
				}
				attach(t, image, envelope(t, image, slsaV1, 1), oci.WithTransport(rt))
				// Every reader finds it: through the API when it works,
				// else through the tag.
				if atts := list(t, image, oci.WithLayout(oci.Referrers)); len(atts) != 1 {
					t.Fatalf("List: %d attestations, want 1", len(atts))
				}
				tag := d.Context().Tag("sha256-" + strings.TrimPrefix(d.DigestStr(), "sha256:"))
				_, err := remote.Get(tag, remote.WithContext(context.Background()))
				if hasTag := err == nil; hasTag != tc.wantTag[refOn] {
					t.Errorf("referrers tag written = %v, want %v (%v)", hasTag, tc.wantTag[refOn], err)
				}
			})
		}
	}
}
