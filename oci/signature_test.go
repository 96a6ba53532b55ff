package oci_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

func signImage(t testing.TB, image string, s sign.Signer, opts ...oci.Option) *oci.SignResult {
	t.Helper()
	res, err := oci.Sign(context.Background(), image, s, append([]oci.Option{oci.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return res
}

func listSigs(t testing.TB, image string, opts ...oci.Option) []oci.Signature {
	t.Helper()
	sigs, err := oci.ListSignatures(context.Background(), image, append([]oci.Option{oci.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatalf("ListSignatures: %v", err)
	}
	return sigs
}

// sigManifest reads the .sig manifest of image.
func sigManifest(t testing.TB, image string) *v1.Manifest {
	t.Helper()
	d := mustDigest(t, image)
	h, _ := v1.NewHash(d.DigestStr())
	img, err := remote.Image(d.Context().Tag("sha256-" + h.Hex + ".sig"))
	if err != nil {
		t.Fatalf("reading .sig: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSignLegacyLayout: a key signature is written where cosign v2 reads
// it, byte for byte as cosign writes the payload, and verifies with the
// key over exactly those bytes.
func TestSignLegacyLayout(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "sig/legacy")
	s := signtest.NewSigner("legacy")
	res := signImage(t, image, s)
	d := mustDigest(t, image)
	if res.Image != image || res.Referrer != nil || res.Layer == nil || !strings.HasSuffix(res.SigTag, ".sig") {
		t.Fatalf("SignResult = %+v", res)
	}
	m := sigManifest(t, image)
	if len(m.Layers) != 1 || m.Layers[0].MediaType != oci.MediaTypeSimpleSigning {
		t.Fatalf(".sig layers = %+v", m.Layers)
	}
	want := fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		d.Context().Name(), d.DigestStr())
	sigs := listSigs(t, image)
	if len(sigs) != 1 || string(sigs[0].Payload) != want || sigs[0].Layout != oci.Legacy {
		t.Fatalf("ListSignatures = %+v\nwant payload %s", sigs, want)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Layers[0].Annotations[oci.AnnotationSignature])
	if err != nil || string(sig) != string(sigs[0].Signature) {
		t.Fatalf("annotation signature %q (%v)", m.Layers[0].Annotations[oci.AnnotationSignature], err)
	}
	if err := signtest.Verifier(t, s).Verify(context.Background(), sigs[0].Payload, sigs[0].Signature); err != nil {
		t.Fatalf("signature does not verify over the payload: %v", err)
	}
	// The same signer again adds nothing: its signature is there.
	again := signImage(t, image, s)
	if len(sigManifest(t, image).Layers) != 1 || again.Layer == nil || again.Layer.Digest != res.Layer.Digest {
		t.Fatalf("re-signing with the same key wrote another layer")
	}
}

// TestSignManySignersNoneLost: every signer's signature of one image
// survives, sequential and concurrent, although all .sig layers of an
// image are the same payload bytes (same digest) and differ only in their
// annotation: a merge keyed by digest alone keeps only the first.
func TestSignManySignersNoneLost(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			image := reg.PushRandomImage(t, fmt.Sprintf("sig/many-%v", concurrent))
			const n = 6
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				do := func() {
					_, errs[i] = oci.Sign(context.Background(), image, signtest.NewSigner(fmt.Sprintf("k%d", i)), oci.WithInsecure())
				}
				if concurrent {
					wg.Add(1)
					go func() { defer wg.Done(); do() }()
				} else {
					do()
				}
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			sigs := listSigs(t, image)
			if len(sigs) != n {
				t.Fatalf("%d signatures stored, want %d", len(sigs), n)
			}
			for i := range n {
				v := signtest.NewVerifier(fmt.Sprintf("k%d", i))
				found := false
				for _, s := range sigs {
					found = found || v.Verify(context.Background(), s.Payload, s.Signature) == nil
				}
				if !found {
					t.Errorf("signer k%d's signature was lost", i)
				}
			}
		})
	}
}

// TestSignReferrersLayout: cosign v3's layout: a referrer whose bundle
// holds an in-toto statement with the cosign sign predicate about the
// image, found by ListSignatures and by an artifact-typed listing.
func TestSignReferrersLayout(t *testing.T) {
	forEachImpl(t, testSignReferrersLayout)
}

func testSignReferrersLayout(t *testing.T, impl ocitest.Option) {
	for _, api := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrersAPI=%v", api), func(t *testing.T) {
			reg := ocitest.NewRegistry(t, impl, ocitest.WithReferrers(api))
			image := reg.PushRandomImage(t, "sig/ref")
			res := signImage(t, image, signtest.NewSigner("ref"), oci.WithLayout(oci.Referrers))
			if res.Referrer == nil || res.SigTag != "" {
				t.Fatalf("SignResult = %+v", res)
			}
			refs := referrers(t, image)
			if len(refs) != 1 || refs[0].Annotations[oci.AnnotationBundlePredicateType] != oci.PredicateCosignSign ||
				refs[0].Annotations[oci.AnnotationBundleContent] != "dsse-envelope" {
				t.Fatalf("referrers = %+v", refs)
			}
			// The manifest itself (ggcr's registry misreports artifactType
			// in the referrers list; see the registry table tests).
			img, err := remote.Image(mustDigest(t, image).Context().Digest(refs[0].Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := img.RawManifest()
			if !strings.Contains(string(raw), `"artifactType":"`+sign.MediaTypeBundle+`"`) {
				t.Fatalf("referrer manifest %s", raw)
			}
			sigs := listSigs(t, image)
			if len(sigs) != 1 || sigs[0].Layout != oci.Referrers || sigs[0].Attestation == nil ||
				sigs[0].Attestation.PredicateType != oci.PredicateCosignSign {
				t.Fatalf("ListSignatures = %+v", sigs)
			}
			// Not reported from the legacy layout, where nothing was written.
			if got := listSigs(t, image, oci.WithLayout(oci.Legacy)); len(got) != 0 {
				t.Fatalf("legacy signatures %d, want 0", len(got))
			}
		})
	}
}

// certSigner is a CertificateSigner with a self-issued chain.
type certSigner struct {
	sign.Signer
	chain []*x509.Certificate
}

func (c certSigner) CertificateChain() []*x509.Certificate { return c.chain }

func selfCert(t testing.TB, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestSignCertificateAnnotations: a certificate signer's leaf and chain go
// where cosign v2 reads them; a certificate for another key is refused
// before anything is written.
func TestSignCertificateAnnotations(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "sig/cert")
	s := signtest.NewSigner("cert")
	cs := certSigner{s, []*x509.Certificate{selfCert(t, s.Public()), selfCert(t, signtest.NewSigner("ca").Public())}}
	signImage(t, image, cs)
	sigs := listSigs(t, image)
	if len(sigs) != 1 || !strings.HasPrefix(string(sigs[0].Certificate), "-----BEGIN CERTIFICATE") ||
		!strings.HasPrefix(string(sigs[0].Chain), "-----BEGIN CERTIFICATE") {
		t.Fatalf("certificate annotations missing: %+v", sigs)
	}

	other := reg.PushRandomImage(t, "sig/cert-other")
	bad := certSigner{s, []*x509.Certificate{selfCert(t, signtest.NewSigner("else").Public())}}
	if _, err := oci.Sign(context.Background(), other, bad, oci.WithInsecure()); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Fatalf("Sign with a certificate for another key: %v, want ErrInvalidArgument", err)
	}
	if got := listSigs(t, other); len(got) != 0 {
		t.Fatalf("%d signatures written by a refused Sign", len(got))
	}
}

// lyingSigner returns signatures made by another key than Public names.
type lyingSigner struct{ sign.Signer }

func (l lyingSigner) Public() crypto.PublicKey { return signtest.NewSigner("not-me").Public() }

// TestSignRefusesUnverifiableSignature: a signer whose signatures do not
// verify with its own public key (a misconfigured KMS key, a broken
// plugin) publishes nothing, in either layout.
func TestSignRefusesUnverifiableSignature(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	for _, l := range []oci.Layout{oci.Legacy, oci.Referrers} {
		image := reg.PushRandomImage(t, "sig/lying-"+l.String())
		_, err := oci.Sign(context.Background(), image, lyingSigner{signtest.NewSigner("me")}, oci.WithInsecure(), oci.WithLayout(l))
		if err == nil {
			t.Fatalf("%v: Sign with a lying signer succeeded", l)
		}
		if got := listSigs(t, image); len(got) != 0 {
			t.Fatalf("%v: %d signatures written", l, len(got))
		}
	}
}

// TestListSignaturesBounded: more signatures than WithMaxAttestations fail
// before any payload is downloaded.
func TestListSignaturesBounded(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "sig/bounded")
	for i := range 3 {
		signImage(t, image, signtest.NewSigner(fmt.Sprint(i)))
	}
	_, err := oci.ListSignatures(context.Background(), image, oci.WithInsecure(), oci.WithMaxAttestations(2))
	if !errors.Is(err, oci.ErrTooMany) {
		t.Fatalf("ListSignatures over the limit: %v, want ErrTooMany", err)
	}
	if _, err := oci.Sign(context.Background(), image, signtest.NewSigner("x"), oci.WithInsecure(), oci.WithMaxAttestations(3)); !errors.Is(err, oci.ErrTooMany) {
		t.Fatalf("Sign beyond the limit: %v, want ErrTooMany", err)
	}
}

// TestParseSimpleSigning closes the class of payloads two readers could
// read differently or that claim a type we do not know.
func TestParseSimpleSigning(t *testing.T) {
	good, err := oci.SimpleSigningPayload("r.example/a", "sha256:"+strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oci.ParseSimpleSigning(good)
	if err != nil || p.Critical.Image.DockerManifestDigest != "sha256:"+strings.Repeat("a", 64) || p.Critical.Identity.DockerReference != "r.example/a" {
		t.Fatalf("ParseSimpleSigning(good) = %+v, %v", p, err)
	}
	dg := `"sha256:` + strings.Repeat("a", 64) + `"`
	for name, tc := range map[string]struct {
		in   string
		want error
	}{
		"unknown type":    {`{"critical":{"identity":{},"image":{"docker-manifest-digest":` + dg + `},"type":"atomic container signature"},"optional":null}`, oci.ErrUnknownSignatureType},
		"no type":         {`{"critical":{"image":{"docker-manifest-digest":` + dg + `}}}`, oci.ErrInvalidSignature},
		"type not string": {`{"critical":{"image":{"docker-manifest-digest":` + dg + `},"type":1}}`, oci.ErrInvalidSignature},
		"duplicate type": {`{"critical":{"image":{"docker-manifest-digest":` + dg + `},"type":"cosign container image signature","type":"x"}}`,
			oci.ErrInvalidSignature},
		"duplicate digest": {`{"critical":{"image":{"docker-manifest-digest":` + dg + `,"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"}}`,
			oci.ErrInvalidSignature},
		"case variant digest": {`{"critical":{"image":{"docker-manifest-digest":` + dg + `,"Docker-Manifest-Digest":"sha256:00"},"type":"cosign container image signature"}}`,
			oci.ErrInvalidSignature},
		"case variant critical": {`{"critical":{"image":{"docker-manifest-digest":` + dg + `},"type":"cosign container image signature"},"Critical":{}}`,
			oci.ErrInvalidSignature},
		"no digest":        {`{"critical":{"image":{},"type":"cosign container image signature"}}`, oci.ErrInvalidSignature},
		"not an object":    {`[]`, oci.ErrInvalidSignature},
		"critical null":    {`{"critical":null}`, oci.ErrInvalidSignature},
		"optional array":   {`{"critical":{"image":{"docker-manifest-digest":` + dg + `},"type":"cosign container image signature"},"optional":[]}`, oci.ErrInvalidSignature},
		"trailing garbage": {string(good) + `{}`, oci.ErrInvalidSignature},
		"invalid utf8":     {`{"critical":{"image":{"docker-manifest-digest":` + dg + `},"type":"cosign container image signature"},"optional":{"a":"` + "\xff" + `"}}`, oci.ErrInvalidSignature},
	} {
		if _, err := oci.ParseSimpleSigning([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := oci.SimpleSigningPayload("r", "sha1:abc"); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("SimpleSigningPayload with a sha1 digest: %v", err)
	}
}

// TestSignRequests pins what a .sig signature costs on the wire: a digest
// reference needs no resolve; first signature: read the tag, upload the
// payload and the config, write the manifest, read it back (5); the same
// signer again: one read, nothing written.
func TestSignRequests(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl ocitest.Option) {
		reg := ocitest.NewRegistry(t, impl)
		image := reg.PushRandomImage(t, "sig/requests")
		s := signtest.NewSigner("rq")
		if res := signImage(t, image, s); res.Requests > 5 {
			t.Errorf("first signature: %d requests, want ≤ 5", res.Requests)
		}
		if res := signImage(t, image, s); res.Requests != 1 {
			t.Errorf("same signer again: %d requests, want 1", res.Requests)
		}
		ct := ocitest.NewCountingTransport(nil)
		if _, err := oci.ListSignatures(context.Background(), image, oci.WithInsecure(), oci.WithTransport(ct), oci.WithLayout(oci.Legacy)); err != nil {
			t.Fatal(err)
		}
		if ct.Count() != 2 {
			t.Errorf("ListSignatures (legacy): %d requests, want 2 (tag, payload)", ct.Count())
		}
	})
}
