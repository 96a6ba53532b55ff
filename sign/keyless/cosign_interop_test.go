package keyless_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// cosign itself verifies a keyless bundle made against the loopback
// services (Fulcio certificate, Rekor entry, RFC 3161 timestamp) offline,
// with the loopback trusted root, and refuses a wrong identity.
func TestCosignVerifiesKeylessBundle(t *testing.T) {
	for _, tc := range []struct {
		env   string
		extra []string
	}{
		{regproc.EnvCosignV2, []string{"--new-bundle-format"}},
		{regproc.EnvCosignV3, nil},
	} {
		t.Run(tc.env, func(t *testing.T) {
			cosign := regproc.Tool(t, tc.env)
			svc := keylesstest.New(t)
			s := newSigner(t, svc)
			dir := t.TempDir()
			artifact := []byte("release artifact\n")
			sum := sha256.Sum256(artifact)
			st := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"artifact","digest":{"sha256":"` +
				hex.EncodeToString(sum[:]) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":` +
				`{"buildDefinition":{"buildType":"https://slsakit.dev/test","externalParameters":{}},"runDetails":{"builder":{"id":"https://slsakit.dev/test"}}}}`)
			env, err := sign.SignStatement(context.Background(), st, s)
			if err != nil {
				t.Fatal(err)
			}
			bundle, err := s.BundleEnvelope(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := svc.TrustedRootJSON()
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"artifact": artifact, "bundle.json": b, "trusted_root.json": tr} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			verify := func(identity string) (string, error) {
				args := append([]string{"verify-blob-attestation", "--bundle", "bundle.json", "--trusted-root", "trusted_root.json",
					"--certificate-identity", identity, "--certificate-oidc-issuer", svc.Issuer.URL(),
					"--type", "slsaprovenance1", "--insecure-ignore-sct"}, tc.extra...)
				cmd := exec.Command(cosign, append(args, "artifact")...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := verify("builder@example.com"); err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign refused the bundle: %v\n%s", err, out)
			}
			if out, err := verify("mallory@example.com"); err == nil {
				t.Errorf("cosign accepted a wrong identity:\n%s", out)
			}
		})
	}
}
