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
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/sign"
)

// MediaTypeBundle is the Sigstore bundle v0.3 media type.
const MediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Bundle wraps env, signed by s, into a Sigstore bundle v0.3 (JSON) and
// returns it. The verification material is s's certificate if s is a
// sign.CertificateSigner (a keyless Signer), otherwise a public-key hint
// (sign.PublicKeyID). The signature made by s (found by verifying each of
// env's signatures with s's key; ErrEnvelope if none) is timestamped by
// every configured timestamp authority and the envelope is entered into
// every configured Rekor log. The bundled signature carries no keyid:
// Sigstore verifiers skip a signature whose keyid differs from the one they
// compute for the key, and the keyid is not signed. Options override the
// services s was created with (for a plain key signer the defaults are the
// public-good services: use WithRekorURLs() with no URLs and KeyBundle for
// an offline bundle).
func Bundle(ctx context.Context, env *sign.Envelope, s sign.Signer, opts ...Option) ([]byte, error) {
	if env == nil || s == nil {
		return nil, fmt.Errorf("%w: nil envelope or signer", ErrEnvelope)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	base := defaultConfig()
	if ks, ok := s.(*Signer); ok {
		base = ks.cfg
	}
	cfg, err := base.apply(opts)
	if err != nil {
		return nil, err
	}
	if cs, ok := s.(sign.CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		// A log entry or timestamp made now would date the signature after
		// the certificate: the bundle could never verify.
		if leaf := cs.CertificateChain()[0]; cfg.now().After(leaf.NotAfter) {
			return nil, fmt.Errorf("%w: certificate expired at %s; make a new Signer", ErrCertificate,
				leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	pb, err := newProtoBundle(ctx, env, s)
	if err != nil {
		return nil, err
	}
	sig := pb.GetDsseEnvelope().Signatures[0].Sig
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
		vm := pb.VerificationMaterial
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	if len(cfg.services.RekorURLs) > 0 {
		keyPEM, err := verifierPEM(s)
		if err != nil {
			return nil, err
		}
		for _, u := range cfg.services.RekorURLs {
			rk := sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: u, Timeout: cfg.timeout, Retries: cfg.retries, Version: 1})
			if err := rk.GetTransparencyLogEntry(ctx, keyPEM, pb); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("%w: %s: %v", ErrRekor, u, err)
			}
		}
	}
	return protojson.Marshal(pb)
}

// KeyBundle wraps env into a Sigstore bundle v0.3 with a public-key hint
// (sign.PublicKeyID of pub) as verification material, without any network
// call: no log entry, no timestamp. The signature made by pub's key is the
// one kept (ErrEnvelope if there is none).
func KeyBundle(env *sign.Envelope, pub crypto.PublicKey) ([]byte, error) {
	if env == nil || pub == nil {
		return nil, fmt.Errorf("%w: nil envelope or key", ErrEnvelope)
	}
	pb, err := newProtoBundle(context.Background(), env, pubOnly{pub})
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(pb)
}

// pubOnly is a sign.Signer view of a public key, used to pick the
// envelope's signature; it never signs.
type pubOnly struct{ pub crypto.PublicKey }

func (p pubOnly) Sign(context.Context, []byte) ([]byte, error) {
	return nil, fmt.Errorf("keyless: public key cannot sign")
}
func (p pubOnly) KeyID() string            { id, _ := sign.PublicKeyID(p.pub); return id }
func (p pubOnly) Public() crypto.PublicKey { return p.pub }

func newProtoBundle(ctx context.Context, env *sign.Envelope, s sign.Signer) (*protobundle.Bundle, error) {
	pub := s.Public()
	alg, err := sign.DefaultAlgorithm(pub)
	if as, ok := s.(sign.AlgorithmSigner); ok {
		alg, err = as.Algorithm(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	v, err := sign.NewVerifier(pub, alg)
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
		return nil, fmt.Errorf("%w: none of the %d signatures verifies with key %s", ErrEnvelope, len(env.Signatures), v.KeyID())
	}
	pb := &protobundle.Bundle{
		MediaType: MediaTypeBundle,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     append([]byte(nil), env.Payload...),
			PayloadType: env.PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: append([]byte(nil), found.Sig...)}},
		}},
		VerificationMaterial: &protobundle.VerificationMaterial{},
	}
	if cs, ok := s.(sign.CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		leaf := cs.CertificateChain()[0]
		if !publicKeysEqual(leaf.PublicKey, pub) {
			return nil, fmt.Errorf("%w: certificate is for another key", ErrCertificate)
		}
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: leaf.Raw},
		}
	} else {
		hint, err := sign.PublicKeyID(pub)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
		}
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_PublicKey{
			PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint},
		}
	}
	return pb, nil
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
