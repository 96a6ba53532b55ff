package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

var k8sPlatforms = []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/arm"}

// statementAbout is a provenance naming each of refs (repo@sha256:…).
func statementAbout(t *testing.T, refs ...string) []byte {
	t.Helper()
	r := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	r.Start()
	if err := r.SetExternalParameter("target", "image"); err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		_, digest, _ := strings.Cut(ref, "@sha256:")
		if err := r.AddSubject(intoto.ResourceDescriptor{Name: ref, Digest: intoto.DigestSet{"sha256": digest}}); err != nil {
			t.Fatal(err)
		}
	}
	r.Finish()
	b, err := r.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A platform image is verified through its index: an attestation on the
// index counts only when its signed statement names that platform's
// digest. Every other attestation an attacker with write access to the
// registry can place on the index (about the index alone, about another
// platform, both) must not admit it.
func TestVerifyPlatformThroughIndex(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID}
	reg := ocitest.NewRegistry(t)

	type setup func(t *testing.T, x *ocitest.Index)
	onIndex := func(refs func(x *ocitest.Index) []string) setup {
		return func(t *testing.T, x *ocitest.Index) {
			attach(t, x.Ref, envelope(t, statementAbout(t, refs(x)...), key), oci.Referrers)
		}
	}
	// copied places an attestation where oci.Attach refuses to put it, as
	// anyone who can write to the registry can.
	copied := func(from string, refs func(x *ocitest.Index) []string) setup {
		return func(t *testing.T, x *ocitest.Index) {
			src := x.Platforms[from]
			attach(t, src, envelope(t, statementAbout(t, refs(x)...), key), oci.Both)
			if n := reg.CopyAttestations(t, src, x.Ref); n == 0 {
				t.Fatal("nothing copied")
			}
		}
	}
	arm := "linux/arm64"
	cases := []struct {
		name  string
		setup setup
		ok    bool
	}{
		{"index attestation names every platform", onIndex(func(x *ocitest.Index) []string {
			return append([]string{x.Ref}, x.Platforms[arm], x.Platforms["linux/amd64"])
		}), true},
		{"recursive attach", func(t *testing.T, x *ocitest.Index) {
			refs := []string{x.Ref}
			for _, p := range k8sPlatforms {
				refs = append(refs, x.Platforms[p])
			}
			if _, err := oci.Attach(ctx, x.Ref, &sign.Attestation{Envelope: envelope(t, statementAbout(t, refs...), key)}, oci.WithInsecure(), oci.WithRecursive()); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"on the platform image itself", func(t *testing.T, x *ocitest.Index) {
			attach(t, x.Platforms[arm], envelope(t, statementAbout(t, x.Platforms[arm]), key), oci.Legacy)
		}, true},
		{"forged: index attestation names only the index", onIndex(func(x *ocitest.Index) []string { return []string{x.Ref} }), false},
		{"forged: index attestation names the index and another platform", onIndex(func(x *ocitest.Index) []string {
			return []string{x.Ref, x.Platforms["linux/amd64"]}
		}), false},
		{"forged: another platform's attestation copied to the index", copied("linux/amd64", func(x *ocitest.Index) []string {
			return []string{x.Platforms["linux/amd64"]}
		}), false},
		{"forged: another platform's attestation copied to the platform", func(t *testing.T, x *ocitest.Index) {
			src := x.Platforms["linux/s390x"]
			attach(t, src, envelope(t, statementAbout(t, src), key), oci.Both)
			reg.CopyAttestations(t, src, x.Platforms[arm])
		}, false},
		{"nothing attached", func(*testing.T, *ocitest.Index) {}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := "k8s/case" + string(rune('a'+i))
			x := reg.PushRandomIndex(t, repo, k8sPlatforms...)
			tc.setup(t, x)
			for _, ref := range []string{x.Ref, reg.Host() + "/" + repo + ":latest"} {
				res, err := verify.VerifyImage(ctx, v.auth, ref, want, oci.WithInsecure(), oci.WithPlatform(arm))
				if tc.ok {
					if err != nil {
						t.Fatalf("VerifyImage(%s): %v", ref, err)
					}
					if res.Image != x.Platforms[arm] || res.Index != x.Ref {
						t.Errorf("verified %s in %s, want %s in %s", res.Image, res.Index, x.Platforms[arm], x.Ref)
					}
				} else if !errors.Is(err, verify.ErrNoAttestation) {
					t.Fatalf("VerifyImage(%s) = %v, want ErrNoAttestation", ref, err)
				}
				// The policy engine judges it alike.
				_, err = policyEngine(t, reg, key).EvaluateImage(ctx, ref, oci.WithInsecure(), oci.WithPlatform(arm))
				if tc.ok != (err == nil) {
					t.Errorf("EvaluateImage(%s): %v, want ok=%v", ref, err, tc.ok)
				}
			}
		})
	}
}

func policyEngine(t *testing.T, reg *ocitest.Registry, key *sign.KeySigner) *verify.Engine {
	t.Helper()
	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n  - artifacts: \"" + reg.Host() + "/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	e, err := verify.NewEngine(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Verifying one platform image through its index costs at most two
// requests more than verifying a single-arch image: the index GET takes
// the place of the tag's HEAD, and the index's two attestation lists
// (referrers, legacy tag) are read only when the platform image's own
// attestations do not pass.
func TestVerifyPlatformRequests(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID}
	reg := ocitest.NewRegistry(t)

	single := reg.PushRandomImage(t, "k8s/single")
	attach(t, single, envelope(t, statementAbout(t, single), key), oci.Referrers)
	ct := ocitest.NewCountingTransport(http.DefaultTransport)
	count := func(ref string, opts ...oci.Option) int {
		t.Helper()
		ct.Reset()
		if _, err := verify.VerifyImage(ctx, v.auth, ref, want, append([]oci.Option{oci.WithInsecure(), oci.WithTransport(ct)}, opts...)...); err != nil {
			t.Fatalf("VerifyImage(%s): %v", ref, err)
		}
		return ct.Count()
	}
	base := count(reg.Host() + "/k8s/single:latest")

	// Attested on the index only (cosign attest without --recursive).
	x := reg.PushRandomIndex(t, "k8s/multi", k8sPlatforms...)
	attach(t, x.Ref, envelope(t, statementAbout(t, x.Ref, x.Platforms["linux/arm64"]), key), oci.Referrers)
	if got := count(reg.Host()+"/k8s/multi:latest", oci.WithPlatform("linux/arm64")); got != base+2 {
		t.Errorf("through the index, attested on the index: %d requests, single-arch %d: want %d", got, base, base+2)
	}
	// Attested recursively: the index's lists are never read.
	y := reg.PushRandomIndex(t, "k8s/multi-r", k8sPlatforms...)
	refs := []string{y.Ref}
	for _, p := range k8sPlatforms {
		refs = append(refs, y.Platforms[p])
	}
	if _, err := oci.Attach(ctx, y.Ref, &sign.Attestation{Envelope: envelope(t, statementAbout(t, refs...), key)}, oci.WithInsecure(), oci.WithRecursive()); err != nil {
		t.Fatal(err)
	}
	if got := count(reg.Host()+"/k8s/multi-r:latest", oci.WithPlatform("linux/arm64")); got != base {
		t.Errorf("through the index, attested recursively: %d requests, single-arch %d", got, base)
	}
}
