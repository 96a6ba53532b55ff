package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// signImages signs every index and every platform image as `cosign sign`
// does (the .sig tag, which cosign v2 and v3 both read with a key), at
// most parallelism at once, and returns how many it signed.
func signImages(ctx context.Context, images []*releaseImage, signer sign.Signer, regOpts []oci.Option) (int, error) {
	var refs []string
	for _, img := range images {
		refs = append(refs, img.ref)
		for _, p := range imagePlatforms {
			refs = append(refs, img.platforms[p])
		}
	}
	var n atomic.Int64
	err := forEach(len(refs), func(i int) error {
		if _, err := oci.Sign(ctx, refs[i], signer, regOpts...); err != nil {
			return fmt.Errorf("sign %s: %w", refs[i], err)
		}
		n.Add(1)
		return nil
	})
	return int(n.Load()), err
}

// signFiles signs every release file as `cosign sign-blob` does: a
// Sigstore bundle (FILE.sigstore.json) and the detached signature the
// Kubernetes release publishes (FILE.sig), both under sigDir, outside the
// attested tree. Each file is hashed as it is read, never held in memory.
func signFiles(ctx context.Context, dist, sigDir string, files []string, signer sign.Signer) error {
	return forEach(len(files), func(i int) error {
		path := filepath.Join(dist, filepath.FromSlash(files[i]))
		out := filepath.Join(sigDir, filepath.FromSlash(files[i]))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := sign.SignBlob(ctx, f, signer)
		if err != nil {
			return fmt.Errorf("sign-blob %s: %w", files[i], err)
		}
		bundle, err := b.MarshalJSON()
		if err != nil {
			return err
		}
		sig, err := sign.DetachedSignature(b)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out+".sigstore.json", bundle, 0o644); err != nil {
			return err
		}
		return os.WriteFile(out+".sig", sig, 0o644)
	})
}

// verifySignatures checks, as a consumer would, every release file's blob
// signature (its bundle, against the file's own digest) and the cosign
// signature of every index and platform image, with the release key.
func verifySignatures(ctx context.Context, dist, sigDir string, files []string, images []*releaseImage, pubPEM []byte, regOpts []oci.Option) (blobs, imgs int, err error) {
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
	if err != nil {
		return 0, 0, err
	}
	err = forEach(len(files), func(i int) error {
		path := filepath.Join(dist, filepath.FromSlash(files[i]))
		raw, err := os.ReadFile(filepath.Join(sigDir, filepath.FromSlash(files[i])) + ".sigstore.json")
		if err != nil {
			return err
		}
		b, err := sign.ParseBundle(raw)
		if err != nil {
			return err
		}
		digest, err := verify.DigestOfFile(ctx, path)
		if err != nil {
			return err
		}
		if _, err := verify.VerifyBlob(ctx, auth, b, digest); err != nil {
			return fmt.Errorf("verify-blob %s: %w", files[i], err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	var refs []string
	for _, img := range images {
		refs = append(refs, img.ref)
		for _, p := range imagePlatforms {
			refs = append(refs, img.platforms[p])
		}
	}
	err = forEach(len(refs), func(i int) error {
		res, err := verify.VerifyImageSignatures(ctx, auth, refs[i], regOpts...)
		if err != nil {
			return fmt.Errorf("verify signature of %s: %w", refs[i], err)
		}
		if len(res.Verified()) == 0 {
			return fmt.Errorf("verify signature of %s: no signature verified", refs[i])
		}
		return nil
	})
	return len(files), len(refs), err
}
