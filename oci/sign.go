package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// SignResult describes what Sign wrote.
type SignResult struct {
	Image string // repo@sha256:... that was signed
	// SigTag is "sha256-<hex>.sig" when the legacy layout was written, and
	// Layer the descriptor of the signature layer there (an existing one
	// when the signer had already signed the image: nothing is written
	// then).
	SigTag string
	Layer  *v1.Descriptor
	// Referrer is the cosign v3 signature referrer written (nil if none).
	Referrer *v1.Descriptor
	// Manifests are the results of the platform manifests signed with
	// WithRecursive, in index order; Requests above counts theirs too.
	Manifests []*SignResult
	Requests  int // HTTP requests made
}

// Sign signs the image ref (resolved to its digest once; every write names
// the digest) with signer and stores the signature where cosign reads it:
//
//   - Legacy: cosign v2's "sha256-<hex>.sig" tag, a layer holding the
//     simple-signing payload (SimpleSigningPayload) with the signature in
//     its dev.cosignproject.cosign/signature annotation and, for a
//     sign.CertificateSigner, its certificate and chain annotations.
//   - Referrers: cosign v3's default, a referrer holding a Sigstore bundle
//     of an in-toto statement (predicate type PredicateCosignSign, the
//     image's digest as subject), written as Attach writes attestations; a
//     sign.BundleSigner (keyless) puts its certificate, log entries and
//     timestamps in the bundle.
//
// The default (WithLayout overrides it) is what both cosign versions read
// with the signer's kind of trust. For a key, Legacy: cosign v2.6.5 and
// v3.1.3 `verify --key` both read the .sig tag when the image has no
// bundle referrer, while v2 reads bundles only with a trusted root. For a
// sign.BundleSigner, Referrers: the .sig layout has no room for the log
// entry and timestamps of a bundle, and verifying a certificate needs a
// trusted root, with which both versions read bundles.
//
// The .sig tag is updated by the same lost-update-safe read-modify-write
// as attestations (serialized in-process, read back across processes,
// ErrConflict when retries run out). A signer that already has a .sig
// signature of the image that verifies with its public key adds nothing.
// Before anything is written the signature must verify with the signer's
// public key (sign.VerifierFor), and a certificate must be for that key
// (ErrInvalidArgument otherwise).
//
// With WithRecursive, a reference that names an image index signs the
// index and every platform manifest it lists (cosign's --recursive), each
// as above, concurrently within WithConcurrency's bound on requests (in
// AttachAll, the bound of the whole release); the platform results
// are in Manifests, and every platform failure is in the joined error.
func Sign(ctx context.Context, ref string, signer sign.Signer, opts ...Option) (*SignResult, error) {
	o := makeOptions(opts)
	if signer == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidArgument)
	}
	if !o.recursive || o.platform != nil || o.platformErr != nil {
		return signImage(ctx, ref, signer, o, opts)
	}
	if o.batch == nil {
		o.batch = newBatch(o.concurrency)
	}
	tg, children, err := readImages(ctx, ref, o)
	if err != nil {
		if tg != nil {
			return &SignResult{Requests: tg.c.requests()}, err
		}
		return nil, err
	}
	c, repoName := tg.c, tg.ref.Context().Name()
	// Each image is then signed by digest, as a non-recursive Sign, within
	// this call's (or its AttachAll's) bound.
	flat := append(opts[:len(opts):len(opts)], func(x *options) { x.recursive, x.batch = false, o.batch })
	refs := []string{repoName + "@" + tg.subj.Digest.String()}
	for _, d := range children {
		refs = append(refs, repoName+"@"+d.Digest.String())
	}
	out := make([]*SignResult, len(refs))
	errs := make([]error, len(refs))
	o.batch.each(ctx, len(refs), func(i int) {
		out[i], errs[i] = signImage(ctx, refs[i], signer, makeOptions(flat), flat)
		if out[i] == nil {
			out[i] = &SignResult{Image: refs[i]}
		}
		if errs[i] != nil && i > 0 {
			errs[i] = fmt.Errorf("oci: signing platform manifest %s: %w", refs[i], errs[i])
		}
	})
	res := out[0]
	res.Manifests = out[1:]
	res.Requests += c.requests()
	for _, m := range res.Manifests {
		res.Requests += m.Requests
	}
	return res, errors.Join(errs...)
}

// signImage is Sign of one image (ref resolved to its manifest when it
// names an index only through WithPlatform).
func signImage(ctx context.Context, ref string, signer sign.Signer, o *options, opts []Option) (*SignResult, error) {
	if !o.layoutSet {
		o.layout = Legacy
		if _, ok := signer.(sign.BundleSigner); ok {
			o.layout = Referrers
		}
	}
	if err := checkLayout(o.layout); err != nil {
		return nil, err
	}
	ver, err := sign.VerifierFor(signer)
	if err != nil {
		return nil, fmt.Errorf("%w: signer: %w", ErrInvalidArgument, err)
	}
	tg, err := resolveTarget(ctx, ref, o, false)
	if err != nil {
		return nil, err
	}
	r, repo, c, subj := tg.ref, tg.repo, tg.c, tg.subj
	image := r.Context().Name() + "@" + subj.Digest.String()
	res := &SignResult{Image: image}
	if o.layout&Legacy != 0 {
		d, err := signLegacy(ctx, c, repo, r.Context().Name(), subj.Digest, signer, ver)
		res.Requests = c.requests()
		if err != nil {
			return res, err
		}
		res.SigTag, res.Layer = sigTag(subj.Digest), d
	}
	if o.layout&Referrers != 0 {
		stmt, err := signatureStatement(r.Context().Name(), subj.Digest)
		if err != nil {
			return res, err
		}
		att, err := sign.Attest(ctx, stmt, signer)
		if err != nil {
			return res, fmt.Errorf("oci: signing the signature statement: %w", err)
		}
		if err := ver.Verify(ctx, att.Envelope.PAE(), att.Envelope.Signatures[0].Sig); err != nil {
			return res, fmt.Errorf("%w: the signer's signature does not verify with its public key: %v", ErrInvalidArgument, err)
		}
		ar, err := Attach(ctx, image, att, append(opts[:len(opts):len(opts)], WithLayout(Referrers))...)
		if ar != nil {
			res.Requests += ar.Requests
			res.Referrer = ar.Referrer
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// signatureStatement is the statement cosign v3 signs for an image: one
// subject with the image's digest (cosign names none; the repository is
// named here, which no reader relies on), predicate type
// PredicateCosignSign and an empty predicate.
func signatureStatement(repo string, h v1.Hash) ([]byte, error) {
	return json.Marshal(map[string]any{
		"_type":         intoto.StatementTypeV1,
		"subject":       []map[string]any{{"name": repo, "digest": map[string]string{h.Algorithm: h.Hex}}},
		"predicateType": PredicateCosignSign,
		"predicate":     map[string]any{},
	})
}

// signLegacy adds signer's signature of the image to its .sig tag.
func signLegacy(ctx context.Context, c *client, repo name.Repository, imageRepo string, h v1.Hash, signer sign.Signer, ver sign.Verifier) (*v1.Descriptor, error) {
	payload, err := SimpleSigningPayload(imageRepo, h.String())
	if err != nil {
		return nil, err
	}
	ann := map[string]string{}
	if cs, ok := signer.(sign.CertificateSigner); ok {
		if ann, err = certificateAnnotations(cs.CertificateChain(), signer.Public()); err != nil {
			return nil, err
		}
	}
	pd, _ := v1.NewHash(sha256Digest(payload))
	t := &sigManifest{&attManifest{c: c, repo: repo, tag: sigTag(h)}}

	unlock, err := attachLocks.lock(ctx, repo.Name()+"@"+h.String())
	if err != nil {
		return nil, err
	}
	defer unlock()

	// Read first: a signature of ours already there is the answer, and the
	// read is the base of the merge (saving a request).
	base := &tagRead{at: time.Now()}
	if base.descs, err = t.read(ctx); err != nil {
		return nil, err
	}
	for i, d := range base.descs {
		if d.Digest != pd || d.MediaType != MediaTypeSimpleSigning {
			continue
		}
		if s, err := legacySignature(d); err == nil && ver.Verify(ctx, payload, s.Signature) == nil {
			return &base.descs[i], nil
		}
	}

	sig, err := signer.Sign(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("oci: signing %s: %w", h, err)
	}
	// Publish only what a verifier of this key can accept.
	if err := ver.Verify(ctx, payload, sig); err != nil {
		return nil, fmt.Errorf("%w: the signer's signature does not verify with its public key: %v", ErrInvalidArgument, err)
	}
	ann[AnnotationSignature] = base64.StdEncoding.EncodeToString(sig)
	ours := v1.Descriptor{MediaType: MediaTypeSimpleSigning, Digest: pd, Size: int64(len(payload)), Annotations: ann}
	if err := c.uploadBlob(ctx, repo, pd.String(), payload, false); err != nil {
		return nil, fmt.Errorf("oci: uploading signature payload: %w", err)
	}
	if _, err := c.mergeUntilStable(ctx, t, ours, base); err != nil {
		return nil, err
	}
	return &ours, nil
}

// certificateAnnotations are cosign's certificate and chain annotations
// for chain (leaf first), whose leaf must be for pub: a certificate for
// another key would name a signer who did not sign.
func certificateAnnotations(chain []*x509.Certificate, pub crypto.PublicKey) (map[string]string, error) {
	out := map[string]string{}
	if len(chain) == 0 {
		return out, nil
	}
	leaf, ok := chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !leaf.Equal(pub) {
		return nil, fmt.Errorf("%w: the signer's certificate is for another key", ErrInvalidArgument)
	}
	out[AnnotationCertificate] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}))
	var rest bytes.Buffer
	for _, c := range chain[1:] {
		_ = pem.Encode(&rest, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	out[AnnotationChain] = rest.String()
	return out, nil
}

// sigManifest is cosign's .sig manifest of one image: the .att manifest's
// read-modify-write, counting simple-signing layers.
type sigManifest struct{ *attManifest }

func (s *sigManifest) counts(d v1.Descriptor) bool { return d.MediaType == MediaTypeSimpleSigning }

// ListSignatures returns the image signatures of ref from both layouts (or
// those chosen with WithLayout): every .sig layer of media type
// MediaTypeSimpleSigning with a base64 signature annotation, with its
// payload downloaded (held to its descriptor's size and digest), and every
// referrer whose statement has predicate type PredicateCosignSign. Entries
// of other kinds and layers without a signature are skipped; more
// signatures in a layout than WithMaxAttestations fail with ErrTooMany
// before any download. Nothing is verified.
func ListSignatures(ctx context.Context, ref string, opts ...Option) ([]Signature, error) {
	o, tg, err := readTarget(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	r, repo, c, subj := tg.ref, tg.repo, tg.c, tg.subj
	var out []Signature
	if o.layout&Legacy != 0 {
		found, err := listLegacySignatures(ctx, c, repo, subj.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	if o.layout&Referrers != 0 {
		// By digest: List makes no request to resolve it again.
		atts, err := List(ctx, r.Context().Name()+"@"+subj.Digest.String(),
			append(opts[:len(opts):len(opts)], WithLayout(Referrers), WithPredicateType(PredicateCosignSign))...)
		if err != nil {
			return nil, err
		}
		for i := range atts {
			out = append(out, Signature{Layout: Referrers, Descriptor: atts[i].Descriptor, Attestation: &atts[i]})
		}
	}
	return out, nil
}

func listLegacySignatures(ctx context.Context, c *client, repo name.Repository, h v1.Hash) ([]Signature, error) {
	man, err := c.getLegacy(ctx, repo, sigTag(h))
	if err != nil || man == nil {
		return nil, err
	}
	var cands []*Signature
	for _, d := range man.Layers {
		if d.MediaType != MediaTypeSimpleSigning {
			continue
		}
		s, err := legacySignature(d)
		if err != nil {
			continue // unverifiable whoever reads it
		}
		if d.Size > c.o.maxBlob {
			return nil, fmt.Errorf("%w: signature layer %s is %d bytes > limit %d", ErrTooLarge, d.Digest, d.Size, c.o.maxBlob)
		}
		cands = append(cands, s)
	}
	if err := c.checkCount(len(cands), repo.Name()+":"+sigTag(h)); err != nil {
		return nil, err
	}
	// Layers of one payload (several signers) are downloaded once.
	payloads := map[v1.Hash][]byte{}
	var uniq []v1.Descriptor
	for _, s := range cands {
		if _, ok := payloads[s.Descriptor.Digest]; !ok {
			payloads[s.Descriptor.Digest] = nil
			uniq = append(uniq, s.Descriptor)
		}
	}
	got, err := parallel(ctx, len(uniq), func(ctx context.Context, i int) (*[]byte, error) {
		b, err := c.getBlob(ctx, repo, uniq[i], c.o.maxBlob)
		if errors.Is(err, ErrNotFound) {
			return nil, nil // a stale layer must not hide the others
		}
		if err != nil {
			return nil, fmt.Errorf("oci: signature layer %s: %w", uniq[i].Digest, err)
		}
		return &b, nil
	})
	if err != nil {
		return nil, err
	}
	for i, b := range got {
		if b != nil {
			payloads[uniq[i].Digest] = *b
		}
	}
	out := make([]Signature, 0, len(cands))
	for _, s := range cands {
		if p := payloads[s.Descriptor.Digest]; p != nil {
			s.Payload = p
			out = append(out, *s)
		}
	}
	return out, nil
}
