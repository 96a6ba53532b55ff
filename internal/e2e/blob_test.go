package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
)

// blobCase is a cosign version with the flags its key-based sign-blob and
// verify-blob need offline. v3's defaults fetch a signing config and the
// trusted root over TUF and upload to Rekor: --use-signing-config=false
// --tlog-upload=false; v3 writes only the bundle unless
// --new-bundle-format=false. v2 writes the old bundle JSON unless
// --new-bundle-format, and verify-blob of a new bundle needs a
// --trusted-root even when the log is ignored.
type blobCase struct {
	cosignCase
	signBundle, signSig []string
}

var blobCases = []blobCase{
	{cosignCases[0], []string{"--tlog-upload=false", "--new-bundle-format"}, []string{"--tlog-upload=false"}},
	{cosignCases[1], []string{"--use-signing-config=false", "--tlog-upload=false"},
		[]string{"--use-signing-config=false", "--tlog-upload=false", "--new-bundle-format=false"}},
}

// blobDigest is the digest set slsakit verifies a blob for.
func blobDigest(b []byte) intoto.DigestSet {
	s := sha256.Sum256(b)
	return intoto.DigestSet{"sha256": hex.EncodeToString(s[:])}
}

// TestBlobCosignToSlsakit: what cosign sign-blob writes with a key (the v3
// bundle, and the detached .sig), slsakit verifies for that blob, with
// that key only.
func TestBlobCosignToSlsakit(t *testing.T) {
	for _, tc := range blobCases {
		t.Run(tc.version, func(t *testing.T) {
			c := newCosign(t, tc.env, tc.version)
			ctx := testCtx(t, 2*time.Minute)
			dir := c.generateKeyPair(t, ctx)
			blob := []byte("kubernetes-server-linux-amd64.tar.gz from cosign " + tc.version)
			os.WriteFile(filepath.Join(dir, "blob"), blob, 0o600)
			c.mustRun(t, ctx, dir, append(append([]string{"sign-blob", "--key", "cosign.key", "--bundle", "blob.sigstore.json"}, tc.signBundle...), "blob")...)
			c.mustRun(t, ctx, dir, append(append([]string{"sign-blob", "--key", "cosign.key", "--output-signature", "blob.sig"}, tc.signSig...), "blob")...)

			pubPEM, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
			if err != nil {
				t.Fatal(err)
			}
			auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
			if err != nil {
				t.Fatal(err)
			}
			other := newKeyPair(t)
			otherAuth, _ := verify.Keys(verify.WithPublicKeys(other.signer.Public()))

			raw, err := os.ReadFile(filepath.Join(dir, "blob.sigstore.json"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := sign.ParseBundle(raw)
			if err != nil {
				t.Fatalf("cosign %s bundle: %v\n%s", tc.version, err, raw)
			}
			sigFile, err := os.ReadFile(filepath.Join(dir, "blob.sig"))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := sign.ParseDetachedSignature(sigFile)
			if err != nil {
				t.Fatalf("cosign %s .sig: %v", tc.version, err)
			}
			d := sha256.Sum256(blob)
			detached, err := sign.DetachedBundle(sig, nil, b.MessageSignature.MessageDigest.Algorithm, d[:])
			if err != nil {
				t.Fatal(err)
			}
			all := map[string]*sign.Bundle{"bundle": b, ".sig": detached}
			if strings.HasPrefix(tc.version, "v2") {
				// v2's default --bundle: its own JSON format.
				c.mustRun(t, ctx, dir, "sign-blob", "--key", "cosign.key", "--tlog-upload=false", "--bundle", "legacy.json", "blob")
				raw, err := os.ReadFile(filepath.Join(dir, "legacy.json"))
				if err != nil {
					t.Fatal(err)
				}
				if all["cosign bundle"], err = sign.ParseCosignBundle(raw, crypto.SHA256, d[:]); err != nil {
					t.Fatalf("cosign %s legacy bundle: %v\n%s", tc.version, err, raw)
				}
			}
			for name, bb := range all {
				if _, err := verify.VerifyBlob(ctx, auth, bb, blobDigest(blob)); err != nil {
					t.Errorf("cosign %s %s: %v", tc.version, name, err)
				}
				// Controls: another blob, another key.
				if _, err := verify.VerifyBlob(ctx, auth, bb, blobDigest([]byte("another blob"))); err == nil {
					t.Errorf("cosign %s %s verifies another blob", tc.version, name)
				}
				if _, err := verify.VerifyBlob(ctx, otherAuth, bb, blobDigest(blob)); !errors.Is(err, verify.ErrSignature) {
					t.Errorf("cosign %s %s with another key: %v", tc.version, name, err)
				}
			}
		})
	}
}

// TestBlobSlsakitToCosign: what slsakit signs (bundle and .sig), cosign
// verify-blob accepts for that blob and refuses for another.
func TestBlobSlsakitToCosign(t *testing.T) {
	root, err := keylesstest.New(t).TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range blobCases {
		t.Run(tc.version, func(t *testing.T) {
			c := newCosign(t, tc.env, tc.version)
			ctx := testCtx(t, 2*time.Minute)
			dir := t.TempDir()
			kp := newKeyPair(t)
			blob := bytes.Repeat([]byte("kubectl "), 10000)
			os.WriteFile(filepath.Join(dir, "blob"), blob, 0o600)
			os.WriteFile(filepath.Join(dir, "other"), []byte("other"), 0o600)
			os.WriteFile(filepath.Join(dir, "trusted_root.json"), root, 0o600)
			b, err := sign.SignBlob(context.Background(), bytes.NewReader(blob), kp.signer)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := b.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := sign.DetachedSignature(b)
			os.WriteFile(filepath.Join(dir, "blob.sigstore.json"), raw, 0o600)
			os.WriteFile(filepath.Join(dir, "blob.sig"), sig, 0o600)

			bundleArgs := []string{"verify-blob", "--key", kp.pubPath, "--bundle", "blob.sigstore.json", "--insecure-ignore-tlog=true"}
			if strings.HasPrefix(tc.version, "v2") {
				bundleArgs = append(bundleArgs, "--new-bundle-format", "--trusted-root", "trusted_root.json")
			}
			sigArgs := []string{"verify-blob", "--key", kp.pubPath, "--signature", "blob.sig", "--insecure-ignore-tlog=true"}
			if strings.HasPrefix(tc.version, "v3") {
				sigArgs = append(sigArgs, "--new-bundle-format=false")
			}
			for name, args := range map[string][]string{"bundle": bundleArgs, ".sig": sigArgs} {
				out := c.mustRun(t, ctx, dir, append(args, "blob")...)
				if !strings.Contains(out, "Verified OK") {
					t.Errorf("cosign %s verify-blob %s: %s", tc.version, name, out)
				}
				if out, err := c.run(ctx, dir, append(args, "other")...); err == nil {
					t.Errorf("cosign %s verify-blob %s accepts another blob:\n%s", tc.version, name, out)
				}
			}
		})
	}
}
