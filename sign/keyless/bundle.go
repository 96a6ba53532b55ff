package keyless

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekortiles "github.com/sigstore/rekor-tiles/v2/pkg/client"
	"github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/sign"
)

// BundleEnvelope wraps the signature s made on env into a Sigstore bundle
// v0.3 (sign.Bundle): s's certificate as verification material, a
// timestamp from every timestamp authority and an entry in every Rekor log
// s was created with (Rekor v1 or v2 as each log's API version says). It implements sign.BundleSigner, so sign.Attest calls
// it. env may carry other signers' signatures; the bundle holds only s's
// (ErrEnvelope if env has none), without a keyid: Sigstore verifiers refuse
// a bundled envelope with more than one signature, skip one whose keyid
// differs from the one they compute, and the keyid is not signed.
//
// A certificate past its NotAfter fails with ErrCertificate before any
// network call: a log entry or timestamp made now could never verify.
func (s *Signer) BundleEnvelope(ctx context.Context, env *sign.Envelope) (*sign.Bundle, error) {
	return makeBundle(ctx, s, s.cfg, func() (*sign.Bundle, error) { return newBundle(ctx, env, s) })
}

// BundleMessage wraps ms, a blob signature s made (sign.SignBlob calls it),
// into a Sigstore bundle v0.3 with a message signature: s's certificate, a
// timestamp from every timestamp authority and a hashedrekord entry in
// every Rekor log s was created with. It implements
// sign.MessageBundleSigner. The signature must verify with s's key over
// the message digest (ErrEnvelope otherwise), so that no log records a
// signature s did not make.
func (s *Signer) BundleMessage(ctx context.Context, ms *sign.MessageSignature) (*sign.Bundle, error) {
	return makeBundle(ctx, s, s.cfg, func() (*sign.Bundle, error) { return newMessageBundle(ctx, ms, s) })
}

// KeyBundle makes the Sigstore bundle of the signature s made on env for a
// signer that is not a keyless Signer: a key file, a KMS key, your own. The
// verification material is s's leaf certificate if s is a
// sign.CertificateSigner with one, else a public-key hint
// (sign.PublicKeyID); the signature is timestamped and logged as
// BundleEnvelope does. The services are the defaults (the public-good Rekor,
// no timestamp authority) unless opts say otherwise: WithRekorURLs() with
// no URL and no WithTSAURLs makes an offline bundle, without any network
// call. For a keyless Signer, opts override the services it was created
// with.
func KeyBundle(ctx context.Context, env *sign.Envelope, s sign.Signer, opts ...Option) (*sign.Bundle, error) {
	base := defaultConfig()
	if ks, ok := s.(*Signer); ok {
		base = ks.cfg
	}
	cfg, err := base.apply(opts)
	if err != nil {
		return nil, err
	}
	return makeBundle(ctx, s, cfg, func() (*sign.Bundle, error) { return newBundle(ctx, env, s) })
}

// makeBundle extends the offline bundle that offline makes (a DSSE
// envelope or a message signature by s) with timestamps and log entries:
// attestations and blob signatures are bundled by the same code.
func makeBundle(ctx context.Context, s sign.Signer, cfg config, offline func() (*sign.Bundle, error)) (*sign.Bundle, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrEnvelope)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cs, ok := s.(sign.CertificateSigner)
	certified := ok && len(cs.CertificateChain()) > 0
	if err := cfg.services.check(certified); err != nil {
		return nil, err
	}
	if certified {
		// A log entry or timestamp made now would date the signature after
		// the certificate: the bundle could never verify.
		if leaf := cs.CertificateChain()[0]; cfg.now().After(leaf.NotAfter) {
			return nil, fmt.Errorf("%w: certificate expired at %s; make a new Signer", ErrCertificate,
				leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	b, err := offline()
	if err != nil {
		return nil, err
	}
	var sig []byte
	if b.DSSEEnvelope != nil {
		sig = b.DSSEEnvelope.Signatures[0].Sig
	} else {
		sig = b.MessageSignature.Signature
	}
	for _, u := range cfg.services.TSAURLs {
		tsa := sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{
			URL: u, Timeout: cfg.timeout, Retries: cfg.retries, Transport: cfg.transport,
		})
		ts, err := tsa.GetTimestamp(ctx, sig)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrTimestamp, u, err)
		}
		if err := checkTimestamp(ts, sig); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrTimestamp, u, err)
		}
		b.VerificationMaterial.RFC3161Timestamps = append(b.VerificationMaterial.RFC3161Timestamps, ts)
	}
	if len(cfg.services.Rekor) == 0 {
		return b, nil
	}
	keyPEM, err := verifierPEM(s)
	if err != nil {
		return nil, err
	}
	// sigstore-go's Rekor client reads and extends a protobuf bundle; the
	// bundle goes there and back through sign.Bundle's codec, so that the
	// one model stays sign.Bundle.
	pb, err := toProto(b)
	if err != nil {
		return nil, err
	}
	for _, l := range cfg.services.Rekor {
		opts := &sgsign.RekorOptions{BaseURL: l.URL, Timeout: cfg.timeout, Retries: cfg.retries, Version: RekorV1}
		if l.APIVersion == RekorV2 {
			// sigstore-go's own v2 writer ignores the timeout: give it ours.
			// A v2 log records a DSSE envelope as a hashedrekord over its
			// PAE, which is what verifiers rebuild.
			w, err := write.NewWriter(l.URL, rekortiles.WithTimeout(cfg.timeout))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrRekor, l.URL, err)
			}
			opts.Version, opts.ClientV2 = RekorV2, w
		}
		if err := sgsign.NewRekor(opts).GetTransparencyLogEntry(ctx, keyPEM, pb); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %s (v%d API): %v", ErrRekor, l.URL, opts.Version, err)
		}
	}
	return fromProto(pb)
}

// newBundle returns the offline bundle of s's signature on env: certificate
// or public-key hint, no log entry, no timestamp.
func newBundle(ctx context.Context, env *sign.Envelope, s sign.Signer) (*sign.Bundle, error) {
	if env == nil {
		return nil, fmt.Errorf("%w: nil envelope", ErrEnvelope)
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	pub := s.Public()
	hint, err := sign.PublicKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	pae := env.PAE()
	var found *sign.Signature
	for i := range env.Signatures {
		if v.Verify(ctx, pae, env.Signatures[i].Sig) == nil {
			found = &env.Signatures[i]
			break
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: none of the %d signatures verifies with key %s", ErrEnvelope, len(env.Signatures), hint)
	}
	b := &sign.Bundle{
		MediaType: sign.MediaTypeBundle,
		DSSEEnvelope: &sign.Envelope{
			PayloadType: env.PayloadType,
			Payload:     append([]byte(nil), env.Payload...),
			Signatures:  []sign.Signature{{Sig: append([]byte(nil), found.Sig...)}},
		},
	}
	if cs, ok := s.(sign.CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		leaf := cs.CertificateChain()[0]
		if !publicKeysEqual(leaf.PublicKey, pub) {
			return nil, fmt.Errorf("%w: certificate is for another key", ErrCertificate)
		}
		b.VerificationMaterial.Certificate = append([]byte(nil), leaf.Raw...)
	} else {
		b.VerificationMaterial.PublicKey = &sign.PublicKeyIdentifier{Hint: hint}
	}
	return b, nil
}

// newMessageBundle returns the offline bundle of ms, checked to be a
// signature by s over its message digest.
func newMessageBundle(ctx context.Context, ms *sign.MessageSignature, s sign.Signer) (*sign.Bundle, error) {
	if ms == nil || ms.MessageDigest == nil {
		return nil, fmt.Errorf("%w: a blob signature needs its message digest", ErrEnvelope)
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	dv, ok := v.(sign.DigestVerifier)
	if !ok {
		return nil, fmt.Errorf("%w: key %s cannot verify a digest", ErrEnvelope, s.KeyID())
	}
	if err := dv.VerifyDigest(ctx, ms.MessageDigest.Algorithm, ms.MessageDigest.Digest, ms.Signature); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if cs, ok := s.(sign.CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		if !publicKeysEqual(cs.CertificateChain()[0].PublicKey, s.Public()) {
			return nil, fmt.Errorf("%w: certificate is for another key", ErrCertificate)
		}
	}
	return sign.NewMessageBundle(s, ms)
}

func toProto(b *sign.Bundle) (*protobundle.Bundle, error) {
	raw, err := b.MarshalJSON()
	if err != nil {
		return nil, err
	}
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		return nil, fmt.Errorf("keyless: bundle to protobuf: %v", err)
	}
	return pb, nil
}

func fromProto(pb *protobundle.Bundle) (*sign.Bundle, error) {
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("keyless: bundle from protobuf: %v", err)
	}
	return sign.ParseBundle(raw)
}

// checkTimestamp checks that an RFC 3161 response stamps sig (the TSA is
// verified later, against the verifier's trusted root).
func checkTimestamp(resp, sig []byte) error {
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		return err
	}
	if ts.HashAlgorithm != crypto.SHA256 {
		return fmt.Errorf("timestamp hashes with %v, not SHA-256", ts.HashAlgorithm)
	}
	d := sha256.Sum256(sig)
	if !bytes.Equal(ts.HashedMessage, d[:]) {
		return fmt.Errorf("timestamp is not over the signature")
	}
	return nil
}

// verifierPEM is the PEM Rekor records: the certificate, else the key.
func verifierPEM(s sign.Signer) ([]byte, error) {
	if cs, ok := s.(sign.CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		return cryptoutils.MarshalCertificateToPEM(cs.CertificateChain()[0])
	}
	return cryptoutils.MarshalPublicKeyToPEM(s.Public())
}
