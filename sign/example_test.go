package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/slsakit/slsakit/sign"
)

// Sign an in-toto statement with a fresh ECDSA P-256 key, write the envelope
// as JSON, read it back and verify it with the public key.
func Example_signAndVerify() {
	ctx := context.Background()
	signer, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		panic(err)
	}
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1",` +
		`"subject":[{"name":"app.tar.gz","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v1"}`)
	env, err := sign.SignStatement(ctx, statement, signer)
	if err != nil {
		panic(err)
	}
	envJSON, _ := json.Marshal(env)
	pubPEM, _ := sign.MarshalPublicKey(signer.Public())

	// The consumer's side: untrusted envelope bytes and a trusted public key.
	pub, err := sign.LoadPublicKey(pubPEM)
	if err != nil {
		panic(err)
	}
	verifier, err := sign.NewVerifier(pub, "")
	if err != nil {
		panic(err)
	}
	got, err := sign.ParseEnvelope(envJSON)
	if err != nil {
		panic(err)
	}
	err = verifier.Verify(ctx, got.PAE(), got.Signatures[0].Sig)
	fmt.Println("verified:", err == nil)
	fmt.Println("payload type:", got.PayloadType)
	// Output:
	// verified: true
	// payload type: application/vnd.in-toto+json
}

// Sign an in-toto statement into an Attestation. A key signer yields the
// DSSE envelope alone; with a BundleSigner among the signers (a Sigstore
// keyless signer, package sign/keyless) Bundle holds its Sigstore bundle
// too, and both go to oci.Attach.
func ExampleAttest() {
	ctx := context.Background()
	signer, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		panic(err)
	}
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` +
		`9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)
	att, err := sign.Attest(ctx, statement, signer)
	if err != nil {
		panic(err)
	}
	fmt.Println("payload type:", att.Envelope.PayloadType)
	fmt.Println("signatures:", len(att.Envelope.Signatures))
	fmt.Println("bundle:", att.Bundle != nil)
	// Output:
	// payload type: application/vnd.in-toto+json
	// signatures: 1
	// bundle: false
}

// Read a Sigstore bundle strictly, without Sigstore's libraries, and write
// it back as protobuf's JSON mapping does.
func ExampleParseBundle() {
	raw := []byte(`{
	  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
	  "verificationMaterial": {"publicKey": {"hint": "SHA256:abc"}},
	  "dsseEnvelope": {"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "c2ln"}]}
	}`)
	b, err := sign.ParseBundle(raw)
	if err != nil {
		panic(err)
	}
	fmt.Println("hint:", b.VerificationMaterial.PublicKey.Hint)
	fmt.Println("payload:", string(b.DSSEEnvelope.Payload))
	out, _ := b.MarshalJSON()
	fmt.Println(string(out))
	// A second mediaType, or "media_type" beside it, is refused.
	_, err = sign.ParseBundle([]byte(`{"mediaType":"a","media_type":"b"}`))
	fmt.Println(errors.Is(err, sign.ErrMalformedBundle))
	// Output:
	// hint: SHA256:abc
	// payload: {}
	// {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"SHA256:abc"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"c2ln"}]}}
	// true
}

// Load a key written by `cosign generate-key-pair`, with the password from
// COSIGN_PASSWORD as cosign does.
func ExampleLoadPrivateKeyFile() {
	os.Setenv("COSIGN_PASSWORD", "slsakit-golden")
	defer os.Unsetenv("COSIGN_PASSWORD")

	signer, err := sign.LoadPrivateKeyFile("testdata/cosign-p256.key", sign.WithPasswordEnv("COSIGN_PASSWORD"))
	if err != nil {
		panic(err)
	}
	fmt.Println(signer.Algorithm())
	fmt.Println(signer.KeyID())
	// Output:
	// ecdsa-sha2-256-nistp256
	// SHA256:57Zo+HzVb3SSZwqzt3FUSFSwG5o5Sri/60cjmhD3mmY
}

// A password can also come from a callback: a prompt, a secret manager.
func ExampleLoadPrivateKey() {
	pemBytes, err := os.ReadFile("testdata/cosign-ed25519.key")
	if err != nil {
		panic(err)
	}
	signer, err := sign.LoadPrivateKey(pemBytes, sign.WithPassword(func() ([]byte, error) {
		return []byte("slsakit-golden"), nil // e.g. read from a secret manager
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(signer)
	// Output:
	// sign.KeySigner{alg: ed25519, keyid: SHA256:4SuhDkoRD3lCksIcj2DCJsE24SnSrkc8geSSigkgiYs}
}

// The key ID is "sha256:" and the hex SHA-256 of the PKIX public key DER.
func ExamplePublicKeyID() {
	pubPEM, err := os.ReadFile("testdata/cosign-ed25519.pub")
	if err != nil {
		panic(err)
	}
	pub, err := sign.LoadPublicKey(pubPEM)
	if err != nil {
		panic(err)
	}
	id, err := sign.PublicKeyID(pub)
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output:
	// SHA256:4SuhDkoRD3lCksIcj2DCJsE24SnSrkc8geSSigkgiYs
}

// Generate a key pair and write it the way cosign does: name.key encrypted
// with a password, name.pub in PKIX PEM.
func ExampleWriteKeyPair() {
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	signer, err := sign.GenerateKey("") // ECDSA P-256, like cosign
	if err != nil {
		panic(err)
	}
	files, err := sign.WriteKeyPair(dir, "cosign", signer, []byte("correct horse"))
	if err != nil {
		panic(err)
	}
	key, _ := os.ReadFile(files.PrivateKey)
	fmt.Println(filepath.Base(files.PrivateKey), filepath.Base(files.PublicKey))
	fmt.Println(string(bytes.SplitN(key, []byte("\n"), 2)[0]))
	// Output:
	// cosign.key cosign.pub
	// -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
}

// Use a slsakit Signer with go-securesystemslib's DSSE envelope signer.
func ExampleToDSSESigner() {
	signer, err := sign.GenerateKey(sign.Ed25519)
	if err != nil {
		panic(err)
	}
	es, err := dsse.NewEnvelopeSigner(sign.ToDSSESigner(signer))
	if err != nil {
		panic(err)
	}
	env, err := es.SignPayload(context.Background(), sign.PayloadTypeInToto, []byte(`{}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(env.Signatures[0].KeyID == signer.KeyID())
	// Output:
	// true
}

// A key held in memory signs with the algorithm its type implies.
func ExampleNewKeySigner() {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sign.NewKeySigner(priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Algorithm())
	// Output: ecdsa-sha2-256-nistp256
}
