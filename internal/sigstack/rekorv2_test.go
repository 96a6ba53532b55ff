package sigstack_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/slsakit/slsakit/internal/sigstack"
)

// The stack's trusted root is right for Rekor v2: sigstore-go (the
// reference client) signs with the real Fulcio, Rekor v2 and TSA, and
// verifies the v2 entry (log ID, checkpoint origin, key) and the
// timestamp against it; another artifact is refused.
func TestRekorV2TrustedRootWithSigstoreGo(t *testing.T) {
	st := sigstack.Start(t, sigstack.WithServices(sigstack.Fulcio, sigstack.TSA, sigstack.RekorV2))
	tok, err := st.Issuer.EmailToken(email)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("artifact for rekor v2")
	pb, err := sgsign.Bundle(&sgsign.PlainData{Data: data}, kp, sgsign.BundleOptions{
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: st.FulcioURL}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: tok},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: st.RekorV2URL, Version: 2})},
		TimestampAuthorities:       []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: st.TSAURL})},
		Context:                    context.Background(),
	})
	if err != nil {
		t.Fatalf("sign with Rekor v2: %v", err)
	}
	tr, err := root.NewTrustedRootFromJSON(st.TrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithSignedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sgverify.NewShortCertificateIdentity(st.Issuer.URL(), "", email, "")
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{Bundle: pb}
	if n := len(pb.GetVerificationMaterial().GetTlogEntries()); n != 1 {
		t.Fatalf("bundle has %d log entries, want 1", n)
	}
	if e := pb.GetVerificationMaterial().GetTlogEntries()[0]; e.GetInclusionProof() == nil || e.GetKindVersion().GetVersion() != "0.0.2" {
		t.Fatalf("not a Rekor v2 entry with an inclusion proof: %v", e)
	}
	if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader(data)), sgverify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("verify Rekor v2 bundle with the stack's trusted root: %v", err)
	}
	if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(bytes.NewReader([]byte("other"))), sgverify.WithCertificateIdentity(id))); err == nil {
		t.Fatal("verified for another artifact")
	}
}
