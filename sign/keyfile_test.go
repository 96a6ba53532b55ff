package sign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

const goldenPassword = "slsakit-golden"

func password(pw string) sign.KeyOption {
	return sign.WithPassword(func() ([]byte, error) { return []byte(pw), nil })
}

// checkPair asserts that s signs with the key in pubPEM.
func checkPair(t *testing.T, s *sign.KeySigner, pubPEM []byte) {
	t.Helper()
	pub, err := sign.LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.NewVerifier(pub, s.Algorithm())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("checkPair")
	sig, err := s.Sign(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), msg, sig); err != nil {
		t.Fatalf("loaded private key does not match its public key: %v", err)
	}
}

// TestLoadCosignGolden loads key files written by sigstore's cryptoutils
// (testdata/gen_cosign_golden.go), the code cosign generate-key-pair uses.
func TestLoadCosignGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		alg  sign.Algorithm
	}{
		{"cosign-p256", sign.ECDSAP256SHA256},
		{"cosign-ed25519", sign.Ed25519},
		{"cosign-legacy-p256", sign.ECDSAP256SHA256},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // scrypt is slow, above all under -race
			s, err := sign.LoadPrivateKeyFile("testdata/"+c.name+".key", password(goldenPassword))
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != c.alg {
				t.Errorf("Algorithm() = %s, want %s", s.Algorithm(), c.alg)
			}
			wantID, _ := os.ReadFile("testdata/" + c.name + ".keyid")
			if s.KeyID() != strings.TrimSpace(string(wantID)) {
				t.Errorf("KeyID = %s, want %s", s.KeyID(), wantID)
			}
			pubPEM, _ := os.ReadFile("testdata/" + c.name + ".pub")
			checkPair(t, s, pubPEM)
		})
	}
}

func TestLoadEncryptedErrors(t *testing.T) {
	golden, err := os.ReadFile("testdata/cosign-p256.key")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(golden)
	reencode := func(body []byte) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: body})
	}
	tampered := bytes.Clone(block.Bytes)
	// Flip a bit inside the base64 ciphertext field of the JSON container.
	i := bytes.LastIndex(tampered, []byte(`"ciphertext":"`)) + len(`"ciphertext":"`) + 5
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	badKDF := bytes.Replace(block.Bytes, []byte(`"N":65536`), []byte(`"N":1024`), 1)

	cases := []struct {
		name string
		in   []byte
		opts []sign.KeyOption
		want error
	}{
		{"wrong password", golden, []sign.KeyOption{password("nope")}, sign.ErrWrongPassword},
		{"no password source", golden, nil, sign.ErrPasswordRequired},
		{"unset env", golden, []sign.KeyOption{sign.WithPasswordEnv("SLSAKIT_TEST_UNSET_VARIABLE")}, sign.ErrPasswordRequired},
		{"callback error", golden, []sign.KeyOption{sign.WithPassword(func() ([]byte, error) { return nil, errors.New("no tty") })}, sign.ErrPasswordRequired},
		{"tampered ciphertext", reencode(tampered), []sign.KeyOption{password(goldenPassword)}, sign.ErrWrongPassword},
		{"not JSON", reencode([]byte("garbage")), []sign.KeyOption{password(goldenPassword)}, sign.ErrMalformedKey},
		{"weak KDF params", reencode(badKDF), []sign.KeyOption{password(goldenPassword)}, sign.ErrMalformedKey},
	}
	for _, c := range cases {
		_, err := sign.LoadPrivateKey(c.in, c.opts...)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), goldenPassword) {
			t.Errorf("%s: error mentions the password: %v", c.name, err)
		}
	}
}

func TestPasswordEnvAndZeroing(t *testing.T) {
	// A set but empty variable is the empty password, as in cosign.
	k := testKeys()["ed25519"]
	b, err := sign.MarshalPrivateKey(k, []byte{})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLSAKIT_TEST_PASSWORD", "")
	got, err := sign.LoadPrivateKey(b, sign.WithPasswordEnv("SLSAKIT_TEST_PASSWORD"))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := sign.MarshalPublicKey(k.Public())
	checkPair(t, got, pubPEM)

	// The callback's slice is zeroed after use.
	var handed []byte
	_, err = sign.LoadPrivateKeyFile("testdata/cosign-p256.key", sign.WithPassword(func() ([]byte, error) {
		handed = []byte(goldenPassword)
		return handed, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(handed, make([]byte, len(goldenPassword))) {
		t.Errorf("password buffer not zeroed: %q", handed)
	}
}

func TestLoadUnencryptedFormats(t *testing.T) {
	ec := keyFor(sign.ECDSAP384SHA384).(*ecdsa.PrivateKey)
	rk := keyFor(sign.RSAPKCS1v15SHA256).(*rsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}})
	cases := []struct {
		name string
		key  crypto.Signer
		pem  []byte
		opts []sign.KeyOption
		alg  sign.Algorithm
	}{
		{"SEC1", ec, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), nil, sign.ECDSAP384SHA384},
		{"SEC1 after EC PARAMETERS", ec, append(ecParams, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), nil, sign.ECDSAP384SHA384},
		{"PKCS#1", rk, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), nil, sign.RSAPKCS1v15SHA256},
		{"PKCS#1 as PSS", rk, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), []sign.KeyOption{sign.WithAlgorithm(sign.RSAPSSSHA512)}, sign.RSAPSSSHA512},
	}
	for _, k := range []string{"p256", "p521", "ed25519", "rsa"} {
		b, err := sign.MarshalPrivateKey(testKeys()[k], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----")) {
			t.Errorf("MarshalPrivateKey(%s, nil) is not PKCS#8 PEM", k)
		}
		def, _ := sign.DefaultAlgorithm(testKeys()[k].Public())
		cases = append(cases, struct {
			name string
			key  crypto.Signer
			pem  []byte
			opts []sign.KeyOption
			alg  sign.Algorithm
		}{"PKCS#8 " + k, testKeys()[k], b, nil, def})
	}
	for _, c := range cases {
		s, err := sign.LoadPrivateKey(c.pem, c.opts...)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Algorithm() != c.alg {
			t.Errorf("%s: Algorithm() = %s, want %s", c.name, s.Algorithm(), c.alg)
		}
		pubPEM, _ := sign.MarshalPublicKey(c.key.Public())
		checkPair(t, s, pubPEM)
	}
}

func TestLoadPrivateKeyRejects(t *testing.T) {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, _ := x509.MarshalPKCS8PrivateKey(x)
	p256, _ := sign.MarshalPrivateKey(testKeys()["p256"], nil)
	legacy := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1, 2, 3}})
	cases := []struct {
		name string
		in   []byte
		opts []sign.KeyOption
		want error
	}{
		{"empty", nil, nil, sign.ErrNoPEM},
		{"only EC PARAMETERS", pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6}}), nil, sign.ErrNoPEM},
		{"public key", []byte(mustRead(t, "testdata/cosign-p256.pub")), nil, sign.ErrUnsupportedKey},
		{"legacy encrypted PEM", legacy, nil, sign.ErrUnsupportedKey},
		{"PKCS#8 encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), nil, sign.ErrUnsupportedKey},
		{"X25519", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: x25519}), nil, sign.ErrUnsupportedKey},
		{"garbage PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 1, 2}}), nil, sign.ErrMalformedKey},
		{"garbage SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{0x30, 1, 2}}), nil, sign.ErrMalformedKey},
		{"garbage PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{0x30, 1, 2}}), nil, sign.ErrMalformedKey},
		{"oversize", append(bytes.Repeat([]byte("\n"), sign.MaxPEMSize), p256...), nil, sign.ErrTooLarge},
		{"algorithm mismatch", p256, []sign.KeyOption{sign.WithAlgorithm(sign.Ed25519)}, sign.ErrAlgorithmMismatch},
	}
	for _, c := range cases {
		if _, err := sign.LoadPrivateKey(c.in, c.opts...); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := sign.LoadPrivateKeyFile(filepath.Join(t.TempDir(), "missing.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	big := filepath.Join(t.TempDir(), "big.key")
	if err := os.WriteFile(big, append(bytes.Repeat([]byte("\n"), 2*sign.MaxPEMSize), p256...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.LoadPrivateKeyFile(big); !errors.Is(err, sign.ErrTooLarge) {
		t.Errorf("big file: err = %v, want ErrTooLarge", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMarshalPrivateKeyEncrypted(t *testing.T) {
	k := testKeys()["p256"]
	for _, pw := range []string{"s3cret"} { // the empty password: TestPasswordEnvAndZeroing
		b, err := sign.MarshalPrivateKey(k, []byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil || block.Type != sign.PEMTypeEncryptedSigstore {
			t.Fatalf("password %q: not an encrypted sigstore PEM: %s", pw, b)
		}
		if !bytes.Contains(block.Bytes, []byte(`"name":"scrypt"`)) || !bytes.Contains(block.Bytes, []byte(`"name":"nacl/secretbox"`)) {
			t.Errorf("container is not scrypt + secretbox: %s", block.Bytes)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if bytes.Contains(block.Bytes, der) || bytes.Contains(block.Bytes, []byte(base64.StdEncoding.EncodeToString(der))) {
			t.Fatal("encrypted file contains the plaintext key")
		}
		s, err := sign.LoadPrivateKey(b, password(pw))
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		pubPEM, _ := sign.MarshalPublicKey(k.Public())
		checkPair(t, s, pubPEM)
	}
	if _, err := sign.MarshalPrivateKey(nil, nil); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("MarshalPrivateKey(nil) err = %v", err)
	}
}

func TestWriteKeyPair(t *testing.T) {
	dir := t.TempDir()
	s := signerFor(t, sign.ECDSAP256SHA256)
	files, err := sign.WriteKeyPair(dir, "release", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if files.PrivateKey != filepath.Join(dir, "release.key") || files.PublicKey != filepath.Join(dir, "release.pub") {
		t.Errorf("files = %+v", files)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(files.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("private key mode %v, want 0600", st.Mode().Perm())
		}
	}
	loaded, err := sign.LoadPrivateKeyFile(files.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, loaded, []byte(mustRead(t, files.PublicKey)))

	before := mustRead(t, files.PrivateKey)
	if _, err := sign.WriteKeyPair(dir, "release", signerFor(t, sign.Ed25519), nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: err = %v, want fs.ErrExist", err)
	}
	if mustRead(t, files.PrivateKey) != before {
		t.Error("WriteKeyPair overwrote an existing key")
	}
	// A leftover .pub makes the write fail without leaving a new .key.
	if err := os.WriteFile(filepath.Join(dir, "half.pub"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.WriteKeyPair(dir, "half", s, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("existing .pub: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "half.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("half-written key pair left a .key behind: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`} {
		if _, err := sign.WriteKeyPair(dir, bad, s, nil); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("name %q: err = %v, want fs.ErrInvalid", bad, err)
		}
	}
	if _, err := sign.WriteKeyPair(dir, "nil", nil, nil); err == nil {
		t.Error("WriteKeyPair(nil signer) succeeded")
	}
}

// TestCosignGenerateKeyPairInterop loads a key pair made by a real cosign
// binary when one is installed.
func TestCosignGenerateKeyPairInterop(t *testing.T) {
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign is not on PATH: skipping the live interop test (TestLoadCosignGolden covers the format offline)")
	}
	dir := t.TempDir()
	cmd := exec.Command(cosign, "generate-key-pair")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=x")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	t.Setenv("COSIGN_PASSWORD", "x")
	s, err := sign.LoadPrivateKeyFile(filepath.Join(dir, "cosign.key"), sign.WithPasswordEnv("COSIGN_PASSWORD"))
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, s, []byte(mustRead(t, filepath.Join(dir, "cosign.pub"))))
}

// TestCosignBlobInterop checks both directions with a real cosign binary,
// when one is installed: cosign signs a blob with a key file written by
// WriteKeyPair (encrypted) and our Verifier accepts the signature; cosign
// verifies a signature made by our KeySigner with our .pub file.
func TestCosignBlobInterop(t *testing.T) {
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign is not on PATH: skipping the live interop test")
	}
	// Not Ed25519: cosign v2.6.5 sign-blob panics on Ed25519 key files
	// ("requested hash function #0 is unavailable").
	for _, alg := range []sign.Algorithm{sign.ECDSAP256SHA256, sign.RSAPKCS1v15SHA256} {
		t.Run(string(alg), func(t *testing.T) { cosignBlobInterop(t, cosign, alg) })
	}
}

func cosignBlobInterop(t *testing.T, cosign string, alg sign.Algorithm) {
	dir := t.TempDir()
	s, err := sign.NewKeySigner(keyFor(alg), sign.WithAlgorithm(alg))
	if err != nil {
		t.Fatal(err)
	}
	files, err := sign.WriteKeyPair(dir, "ours", s, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(dir, "blob.txt")
	if err := os.WriteFile(blob, []byte("an artifact\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(cosign, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	// cosign signs with our encrypted key file; we verify.
	run("sign-blob", "--yes", "--tlog-upload=false", "--key", files.PrivateKey, "--output-signature", "cosign.sig", blob)
	sigB64, err := os.ReadFile(filepath.Join(dir, "cosign.sig"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigB64)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), []byte("an artifact\n"), sig); err != nil {
		t.Errorf("our verifier rejects cosign's signature made with our key file: %v", err)
	}

	// We sign; cosign verifies with our public key file.
	ours, err := s.Sign(context.Background(), []byte("an artifact\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ours.sig"), []byte(base64.StdEncoding.EncodeToString(ours)), 0o644); err != nil {
		t.Fatal(err)
	}
	run("verify-blob", "--insecure-ignore-tlog=true", "--key", files.PublicKey, "--signature", "ours.sig", blob)
}

// TestCosignAttestationInterop checks DSSE envelopes both ways with a real
// cosign binary, when one is installed: cosign attest-blob with our key file
// makes an envelope that ParseEnvelope reads and our Verifier accepts, and
// cosign verify-blob-attestation accepts an envelope from SignStatement.
func TestCosignAttestationInterop(t *testing.T) {
	cosign, err := exec.LookPath("cosign")
	if err != nil {
		t.Skip("cosign is not on PATH: skipping the live interop test")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := signerFor(t, sign.ECDSAP256SHA256)
	files, err := sign.WriteKeyPair(dir, "ours", s, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	blobBytes := []byte("an artifact\n")
	blob := filepath.Join(dir, "blob.txt")
	if err := os.WriteFile(blob, blobBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "predicate.json"), []byte(`{"buildDefinition":{"buildType":"https://example.com/t"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(cosign, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=pw")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		t.Fatal(err)
	}

	// cosign makes the envelope; we parse and verify it.
	run("attest-blob", "--yes", "--tlog-upload=false", "--key", files.PrivateKey, "--type", "custom",
		"--predicate", "predicate.json", "--output-signature", "cosign.att.json", blob)
	raw, err := os.ReadFile(filepath.Join(dir, "cosign.att.json")) // the DSSE envelope
	if err != nil {
		t.Fatal(err)
	}
	env, err := sign.ParseEnvelope(bytes.TrimSpace(raw))
	if err != nil {
		t.Fatalf("ParseEnvelope of cosign's envelope: %v\n%s", err, raw)
	}
	if env.PayloadType != sign.PayloadTypeInToto {
		t.Errorf("payloadType %q", env.PayloadType)
	}
	if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		t.Errorf("our verifier rejects cosign's envelope: %v", err)
	}

	// We make the envelope; cosign verifies it.
	sum := sha256.Sum256(blobBytes)
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"blob.txt","digest":{"sha256":"%x"}}],"predicateType":"https://cosign.sigstore.dev/attestation/v1","predicate":{"Data":"hi","Timestamp":""}}`, sum)
	ours, err := sign.SignStatement(ctx, []byte(stmt), s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ours.att.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	run("verify-blob-attestation", "--insecure-ignore-tlog=true", "--key", files.PublicKey, "--type", "custom",
		"--signature", "ours.att.json", blob)
}
