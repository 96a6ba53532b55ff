package keyless_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// Sign keyless, attach the bundle to an image as an OCI referrer, fetch it
// back and verify it for the image digest with identity checks.
func TestEndToEndThroughRegistry(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.PushRandomImage(t, "app")
	_, digest, _ := strings.Cut(ref, "@sha256:")

	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": reg.Host() + "/app", "digest": map[string]string{"sha256": digest}}},
		"predicateType": "https://example.com/test-predicate/v1",
		"predicate":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	attachKeylessStatement(t, svc, ref, testEmail, st)
	atts, err := oci.List(ctx, ref, oci.WithLayout(oci.Referrers), oci.WithInsecure())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(atts) != 1 || atts[0].Bundle == nil {
		t.Fatalf("attestations = %+v", atts)
	}
	att := &atts[0].Attestation
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	if _, err := v.Authenticate(ctx, att, intoto.DigestSet{"sha256": digest}); err != nil {
		t.Fatalf("verify fetched bundle: %v", err)
	}
	// The same bundle presented for another image is refused.
	other := reg.PushRandomImage(t, "other")
	_, otherDigest, _ := strings.Cut(other, "@sha256:")
	if _, err := v.Authenticate(ctx, att, intoto.DigestSet{"sha256": otherDigest}); !errors.Is(err, keyless.ErrArtifact) {
		t.Errorf("other image: err = %v, want ErrArtifact", err)
	}
	bad := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: "mallory@example.com"}))
	if _, err := bad.Authenticate(ctx, att, intoto.DigestSet{"sha256": digest}); !errors.Is(err, keyless.ErrIdentity) {
		t.Errorf("wrong identity: err = %v, want ErrIdentity", err)
	}
}
