package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// DefaultMaxBlobInMemory is the largest blob SignBlob holds in memory, for
// a Signer that cannot sign a digest (pure Ed25519 signs the message
// itself; a DigestSigner never needs it).
const DefaultMaxBlobInMemory = 64 << 20

// MaxDetachedSize is the largest detached signature or certificate file
// ParseDetachedSignature and ParseDetachedCertificate read: a signature is
// at most a few hundred bytes and a certificate a few kilobytes, so more is
// not one.
const MaxDetachedSize = 64 << 10

// ErrMalformedDetached is returned for a detached signature (.sig) or
// certificate (.cert) file that is not one.
var ErrMalformedDetached = errors.New("sign: malformed detached signature or certificate")

// DigestSigner is the optional interface of a Signer that can sign a
// message of which it is only given the digest: SignBlob uses it to sign a
// blob it hashed while reading, without holding it in memory. h is the
// hash the Signer's algorithm signs with (anything else fails with
// ErrAlgorithmMismatch); the signature is the one Sign would make on the
// message.
type DigestSigner interface {
	Signer
	SignDigest(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)
}

// DigestVerifier is the optional interface of a Verifier that can check a
// signature over a message of which it is only given the digest. The
// Verifiers of NewVerifier implement it.
type DigestVerifier interface {
	Verifier
	VerifyDigest(ctx context.Context, h crypto.Hash, digest, sig []byte) error
}

// MessageBundleSigner is the optional interface of a Signer that can prove
// more than a blob signature: BundleMessage returns the Sigstore bundle of
// ms, a message signature it made, with its certificate, transparency log
// entries and timestamps (a keyless signer). SignBlob calls it; signers
// without it get an offline bundle (NewMessageBundle).
type MessageBundleSigner interface {
	Signer
	BundleMessage(ctx context.Context, ms *MessageSignature) (*Bundle, error)
}

// BlobOption configures SignBlob.
type BlobOption func(*blobConfig)

type blobConfig struct{ maxInMemory int64 }

// WithMaxBlobInMemory sets the largest blob SignBlob holds in memory for a
// Signer that must see the whole message (default
// DefaultMaxBlobInMemory); a larger blob fails with ErrTooLarge.
func WithMaxBlobInMemory(n int64) BlobOption { return func(c *blobConfig) { c.maxInMemory = n } }

// SignBlob signs the blob read from r with s and returns the Sigstore
// bundle v0.3 of the signature: a message signature (the blob's digest and
// the signature over the blob, as `cosign sign-blob --bundle` writes it)
// with s's certificate or a public-key hint as verification material, and,
// when s is a MessageBundleSigner (keyless), its log entries and
// timestamps. The blob is read once and hashed as it is read, with the hash
// of s's algorithm; when s is a DigestSigner it is never held in memory
// (else up to WithMaxBlobInMemory bytes, ErrTooLarge beyond). The signature
// is verified with s's public key before it is returned, so that a faulty
// Signer cannot produce a bundle that does not verify.
//
// The detached forms the Kubernetes release publishes come from the
// bundle: DetachedSignature (.sig) and DetachedCertificate (.cert).
func SignBlob(ctx context.Context, r io.Reader, s Signer, opts ...BlobOption) (*Bundle, error) {
	cfg := blobConfig{maxInMemory: DefaultMaxBlobInMemory}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if s == nil || r == nil {
		return nil, errors.New("sign: SignBlob: nil reader or signer")
	}
	v, err := VerifierFor(s)
	if err != nil {
		return nil, err
	}
	alg := v.(*keyVerifier).alg
	h := alg.Hash()
	ds, canDigest := s.(DigestSigner)
	if h == 0 || !canDigest {
		return signWhole(ctx, r, s, v, alg, cfg.maxInMemory)
	}
	sums, err := HashBlob(ctx, r, h)
	if err != nil {
		return nil, err
	}
	d := sums[0]
	sig, err := ds.SignDigest(ctx, h, d)
	if err != nil {
		return nil, fmt.Errorf("sign: signing blob with key %s: %w", s.KeyID(), err)
	}
	if err := v.(DigestVerifier).VerifyDigest(ctx, h, d, sig); err != nil {
		return nil, fmt.Errorf("sign: signer %s made a signature that does not verify: %w", s.KeyID(), err)
	}
	return messageBundle(ctx, s, &MessageSignature{MessageDigest: &MessageDigest{Algorithm: h, Digest: d}, Signature: sig})
}

// signWhole signs a blob a Signer must see whole: read up to max bytes.
// Pure Ed25519 records the SHA-512 digest of the blob, as cosign does.
func signWhole(ctx context.Context, r io.Reader, s Signer, v Verifier, alg Algorithm, max int64) (*Bundle, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, &ctxReader{ctx: ctx, r: io.LimitReader(r, max+1)})
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w: signer %s (%s) must see the whole blob, which is over %d bytes (WithMaxBlobInMemory)", ErrTooLarge, s.KeyID(), alg, max)
	}
	data := buf.Bytes()
	sig, err := s.Sign(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("sign: signing blob with key %s: %w", s.KeyID(), err)
	}
	if err := v.Verify(ctx, data, sig); err != nil {
		return nil, fmt.Errorf("sign: signer %s made a signature that does not verify: %w", s.KeyID(), err)
	}
	h := alg.Hash()
	if h == 0 {
		h = crypto.SHA512
	}
	return messageBundle(ctx, s, &MessageSignature{MessageDigest: &MessageDigest{Algorithm: h, Digest: digest(h, data)}, Signature: sig})
}

func messageBundle(ctx context.Context, s Signer, ms *MessageSignature) (*Bundle, error) {
	mb, ok := s.(MessageBundleSigner)
	if !ok {
		return NewMessageBundle(s, ms)
	}
	b, err := mb.BundleMessage(ctx, ms)
	if err != nil {
		return nil, fmt.Errorf("sign: key %s: bundle: %w", s.KeyID(), err)
	}
	// The bundle is the signer's word: it must carry this signature.
	if b == nil || b.MessageSignature == nil || !bytes.Equal(b.MessageSignature.Signature, ms.Signature) {
		return nil, fmt.Errorf("%w: the signer's bundle does not carry its blob signature", ErrBundleMismatch)
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// NewMessageBundle returns the offline Sigstore bundle v0.3 of ms, a
// message signature s made: s's leaf certificate as verification material
// when s is a CertificateSigner with one, else a public-key hint
// (PublicKeyID); no log entry, no timestamp. It checks the form, not the
// signature (SignBlob does).
func NewMessageBundle(s Signer, ms *MessageSignature) (*Bundle, error) {
	if s == nil || ms == nil {
		return nil, fmt.Errorf("%w: nil signer or message signature", ErrMalformedBundle)
	}
	b := &Bundle{MediaType: MediaTypeBundle, MessageSignature: &MessageSignature{Signature: append([]byte(nil), ms.Signature...)}}
	if d := ms.MessageDigest; d != nil {
		b.MessageSignature.MessageDigest = &MessageDigest{Algorithm: d.Algorithm, Digest: append([]byte(nil), d.Digest...)}
	}
	if cs, ok := s.(CertificateSigner); ok && len(cs.CertificateChain()) > 0 {
		b.VerificationMaterial.Certificate = append([]byte(nil), cs.CertificateChain()[0].Raw...)
	} else {
		hint, err := PublicKeyID(s.Public())
		if err != nil {
			return nil, err
		}
		b.VerificationMaterial.PublicKey = &PublicKeyIdentifier{Hint: hint}
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// HashBlob reads r to its end once and returns its digest with each of hs
// (SHA-256, SHA-384 or SHA-512), in that order, without holding it in
// memory. ctx is checked between reads.
func HashBlob(ctx context.Context, r io.Reader, hs ...crypto.Hash) ([][]byte, error) {
	ws := make([]io.Writer, len(hs))
	hashes := make([]hash.Hash, len(hs))
	for i, h := range hs {
		if !supportedHash(h) {
			return nil, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
		}
		hashes[i] = h.New()
		ws[i] = hashes[i]
	}
	if _, err := io.Copy(io.MultiWriter(ws...), &ctxReader{ctx: ctx, r: r}); err != nil {
		return nil, err
	}
	out := make([][]byte, len(hs))
	for i, h := range hashes {
		out[i] = h.Sum(nil)
	}
	return out, nil
}

func supportedHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// ctxReader stops a long read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// checkDigest checks that d, made with h, is what alg signs.
func checkDigest(alg Algorithm, h crypto.Hash, d []byte) error {
	switch {
	case alg.Hash() == 0:
		return fmt.Errorf("%w: %s signs the message itself, not a digest", ErrUnsupportedAlgorithm, alg)
	case h != alg.Hash():
		return fmt.Errorf("%w: %s signs a %v digest, not %v", ErrAlgorithmMismatch, alg, alg.Hash(), h)
	case len(d) != h.Size():
		return fmt.Errorf("%w: %v digest of %d bytes", ErrInvalidSignature, h, len(d))
	}
	return nil
}

// SignDigest signs digest, the hash h of a message, as Sign signs the
// message: h must be the algorithm's hash (ErrAlgorithmMismatch); pure
// Ed25519 cannot sign a digest (ErrUnsupportedAlgorithm).
func (k *KeySigner) SignDigest(ctx context.Context, h crypto.Hash, d []byte) ([]byte, error) {
	if k == nil || k.priv == nil {
		return nil, errors.New("sign: KeySigner is not initialized; use NewKeySigner")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkDigest(k.alg, h, d); err != nil {
		return nil, err
	}
	sig, err := k.priv.Sign(rand.Reader, d, k.alg.signerOpts())
	if err != nil {
		return nil, fmt.Errorf("sign: %s signing with key %s: %w", k.alg, k.keyID, err)
	}
	return sig, nil
}

var _ DigestSigner = (*KeySigner)(nil)

// DetachedSignature returns the blob signature of a message-signature
// bundle as the detached .sig file cosign sign-blob writes
// (--output-signature): standard base64 of the raw signature, no newline.
func DetachedSignature(b *Bundle) ([]byte, error) {
	if b == nil || b.MessageSignature == nil || len(b.MessageSignature.Signature) == 0 {
		return nil, fmt.Errorf("%w: not a message-signature bundle", ErrMalformedBundle)
	}
	return base64.StdEncoding.AppendEncode(nil, b.MessageSignature.Signature), nil
}

// DetachedCertificate returns the signing certificate of a bundle as a PEM
// .cert file (what Kubernetes publishes next to each .sig), nil when the
// bundle names a key instead. cosign sign-blob --output-certificate writes
// the same PEM base64-encoded once more; ParseDetachedCertificate reads
// both.
func DetachedCertificate(b *Bundle) []byte {
	if b == nil {
		return nil
	}
	der := b.VerificationMaterial.Certificate
	if der == nil && len(b.VerificationMaterial.CertificateChain) > 0 {
		der = b.VerificationMaterial.CertificateChain[0]
	}
	if der == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseDetachedSignature reads a detached .sig file: the standard base64
// of the raw signature (what cosign writes by default), surrounding
// whitespace ignored. A raw binary signature (cosign --b64=false) is not
// accepted: it cannot be told apart from base64 text reliably, and a
// verifier must read each file one way only. Input over MaxDetachedSize
// fails with ErrTooLarge, anything else not base64 with
// ErrMalformedDetached.
func ParseDetachedSignature(data []byte) ([]byte, error) {
	if len(data) > MaxDetachedSize {
		return nil, fmt.Errorf("%w: signature file is %d bytes, limit %d", ErrTooLarge, len(data), MaxDetachedSize)
	}
	s := bytes.TrimSpace(data)
	// Go's decoder skips \r and \n anywhere in its input, even in Strict
	// mode: refuse them, so one signature has one spelling.
	if bytes.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: signature has a line break inside", ErrMalformedDetached)
	}
	sig, err := base64.StdEncoding.Strict().AppendDecode(nil, s)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: signature is not standard base64", ErrMalformedDetached)
	}
	return sig, nil
}

// ParseDetachedCertificate reads a detached .cert file: one PEM
// CERTIFICATE block, or that PEM base64-encoded (what cosign sign-blob
// --output-certificate writes by default), and returns the leaf
// certificate. Anything else (no certificate, other PEM blocks, trailing
// data) fails with ErrMalformedDetached, input over MaxDetachedSize with
// ErrTooLarge.
func ParseDetachedCertificate(data []byte) (*x509.Certificate, error) {
	if len(data) > MaxDetachedSize {
		return nil, fmt.Errorf("%w: certificate file is %d bytes, limit %d", ErrTooLarge, len(data), MaxDetachedSize)
	}
	s := bytes.TrimSpace(data)
	if !bytes.HasPrefix(s, []byte("-----BEGIN")) {
		dec, err := base64.StdEncoding.Strict().AppendDecode(nil, s)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate is neither PEM nor base64 PEM", ErrMalformedDetached)
		}
		s = bytes.TrimSpace(dec)
	}
	blk, rest := pem.Decode(s)
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: want exactly one PEM CERTIFICATE block", ErrMalformedDetached)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedDetached, err)
	}
	return c, nil
}

// DetachedBundle makes the bundle a verifier reads a detached signature
// as: a message signature over a blob whose digest is d (made with h), with
// cert as verification material, or with a public-key hint when cert is
// nil (the verifier brings the key). It carries no log entry and no
// timestamp: keyless verification needs a verified signing time, which a
// detached .sig/.cert pair does not have offline.
func DetachedBundle(sig []byte, cert *x509.Certificate, h crypto.Hash, d []byte) (*Bundle, error) {
	b := &Bundle{MediaType: MediaTypeBundle, MessageSignature: &MessageSignature{
		MessageDigest: &MessageDigest{Algorithm: h, Digest: append([]byte(nil), d...)},
		Signature:     append([]byte(nil), sig...),
	}}
	if cert != nil {
		b.VerificationMaterial.Certificate = append([]byte(nil), cert.Raw...)
	} else {
		b.VerificationMaterial.PublicKey = &PublicKeyIdentifier{}
	}
	if _, ok := hashName(h); !ok || !supportedHash(h) || len(d) != h.Size() {
		return nil, fmt.Errorf("%w: message digest: hash %v with %d bytes", ErrMalformedBundle, h, len(d))
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// ParseCosignBundle reads the bundle cosign v2 sign-blob --bundle writes
// without --new-bundle-format: {"base64Signature", "cert" (base64 PEM, for
// keyless), "rekorBundle" (the Rekor entry and its signed entry timestamp)}
// and returns it as the Sigstore bundle v0.1 it is equivalent to: the
// certificate as a one-certificate chain, the entry as a log entry with
// its inclusion promise (no inclusion proof, which that format never
// held), and a message signature over the digest d (made with h) that the
// caller computed from the blob (the format records none). Input over
// DefaultMaxBundleSize fails with ErrTooLarge, anything else that is not
// this format with ErrMalformedBundle. Nothing is verified.
func ParseCosignBundle(data []byte, h crypto.Hash, d []byte) (*Bundle, error) {
	if len(data) > DefaultMaxBundleSize {
		return nil, fmt.Errorf("%w: bundle is %d bytes, limit %d", ErrTooLarge, len(data), DefaultMaxBundleSize)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: cosign bundle: "+format, append([]any{ErrMalformedBundle}, args...)...)
	}
	if err := strictjson.Check(data); err != nil {
		return nil, bad("%v", err)
	}
	top, err := fields(bytes.TrimSpace(data), "cosign bundle", "base64Signature", "cert", "rekorBundle")
	if err != nil {
		return nil, bad("%v", err)
	}
	sig, err := bytesField(top, "base64Signature")
	if err != nil || len(sig) == 0 {
		return nil, bad("missing or bad base64Signature")
	}
	b, err := DetachedBundle(sig, nil, h, d)
	if err != nil {
		return nil, err
	}
	b.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	if _, ok := top["cert"]; ok {
		certPEM, err := bytesField(top, "cert")
		if err != nil {
			return nil, bad("cert: %v", err)
		}
		c, err := ParseDetachedCertificate(certPEM)
		if err != nil {
			return nil, bad("cert: %v", err)
		}
		b.VerificationMaterial.PublicKey = nil
		b.VerificationMaterial.CertificateChain = [][]byte{c.Raw}
	}
	if raw, ok := top["rekorBundle"]; ok {
		entry, err := cosignRekorEntry(raw)
		if err != nil {
			return nil, bad("rekorBundle: %v", err)
		}
		b.VerificationMaterial.TlogEntries = []json.RawMessage{entry}
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// cosignRekorEntry maps cosign's RekorBundle {SignedEntryTimestamp,
// Payload{body, integratedTime, logIndex, logID}} onto a bundle's log
// entry: the kind and version are the body's own.
func cosignRekorEntry(raw json.RawMessage) (json.RawMessage, error) {
	rb, err := fields(raw, "rekorBundle", "SignedEntryTimestamp", "Payload")
	if err != nil {
		return nil, err
	}
	set, err := bytesField(rb, "SignedEntryTimestamp")
	if err != nil || len(set) == 0 {
		return nil, errors.New("missing or bad SignedEntryTimestamp")
	}
	var p struct {
		Body           []byte `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}
	pm, err := fields(rb["Payload"], "Payload", "body", "integratedTime", "logIndex", "logID")
	if err != nil {
		return nil, err
	}
	if p.Body, err = bytesField(pm, "body"); err != nil || len(p.Body) == 0 {
		return nil, errors.New("missing or bad Payload.body")
	}
	for k, dst := range map[string]*int64{"integratedTime": &p.IntegratedTime, "logIndex": &p.LogIndex} {
		if err := json.Unmarshal(pm[k], dst); err != nil || *dst < 0 {
			return nil, fmt.Errorf("Payload.%s is not a non-negative integer", k)
		}
	}
	if err := json.Unmarshal(pm["logID"], &p.LogID); err != nil {
		return nil, errors.New("Payload.logID is not a string")
	}
	logID, err := hex.DecodeString(p.LogID)
	if err != nil || len(logID) == 0 {
		return nil, errors.New("Payload.logID is not hex")
	}
	var kind struct{ APIVersion, Kind string }
	if err := json.Unmarshal(p.Body, &kind); err != nil || kind.Kind == "" || kind.APIVersion == "" {
		return nil, errors.New("Payload.body is not a Rekor entry")
	}
	return json.Marshal(map[string]any{
		"logIndex":          strconv.FormatInt(p.LogIndex, 10),
		"logId":             map[string]any{"keyId": logID},
		"kindVersion":       map[string]any{"kind": kind.Kind, "version": kind.APIVersion},
		"integratedTime":    strconv.FormatInt(p.IntegratedTime, 10),
		"inclusionPromise":  map[string]any{"signedEntryTimestamp": set},
		"canonicalizedBody": p.Body,
	})
}
