package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
)

var imageLine = regexp.MustCompile(`(?m)^image: (\S+)$`)

// TestQuickstart runs the README's main command in each layout against a
// given registry and checks what a consumer gets: the files, and the
// provenance and SBOM attestations on the image, in that layout only.
func TestQuickstart(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	for _, format := range []string{"referrers", "legacy", "both"} {
		t.Run(format, func(t *testing.T) {
			out := t.TempDir()
			var stdout bytes.Buffer
			if err := run(context.Background(), out, "", reg.Host()+"/team/"+format, format, &stdout); err != nil {
				t.Fatalf("run: %v\n%s", err, stdout.String())
			}
			m := imageLine.FindStringSubmatch(stdout.String())
			if m == nil || !regexp.MustCompile(`^`+regexp.QuoteMeta(reg.Host())+`/team/`+format+`@sha256:[0-9a-f]{64}$`).MatchString(m[1]) {
				t.Fatalf("no image line:\n%s", stdout.String())
			}
			if !bytes.Contains(stdout.Bytes(), []byte("verified:   1 of 1 provenance")) {
				t.Fatalf("provenance not verified from the registry:\n%s", stdout.String())
			}
			// The statement file is the envelope's payload, byte for byte,
			// and it is SLSA provenance about the pushed image.
			stmt := mustRead(t, filepath.Join(out, "provenance.json"))
			envs, err := sign.ReadJSONL(bytes.NewReader(mustRead(t, filepath.Join(out, "provenance.intoto.jsonl"))))
			if err != nil || len(envs) != 1 || !bytes.Equal(envs[0].Payload, stmt) {
				t.Fatalf("envelope payload differs from provenance.json (err %v)", err)
			}
			st, err := provenance.Parse(stmt)
			if err != nil {
				t.Fatal(err)
			}
			_, hex, _ := bytes.Cut([]byte(m[1]), []byte("@sha256:"))
			if len(st.SubjectsMatching(intoto.DigestSet{"sha256": string(hex)})) != 1 || st.Provenance.BuilderID != builderID {
				t.Fatalf("statement is not about the image by this builder: %+v", st)
			}
			if err := sbom.ValidateSPDX(mustRead(t, filepath.Join(out, "sbom.spdx.json"))); err != nil {
				t.Errorf("SPDX document invalid: %v", err)
			}
			if len(mustRead(t, filepath.Join(out, "sbom.cdx.json"))) == 0 || len(mustRead(t, filepath.Join(out, "signer.pub"))) == 0 {
				t.Error("empty output file")
			}
			atts, err := oci.List(context.Background(), m[1], oci.WithInsecure())
			if err != nil || len(atts) != 2 {
				t.Fatalf("list: %v, %d attestations", err, len(atts))
			}
			want, _ := oci.ParseLayout(format)
			types := map[string]bool{}
			for _, a := range atts {
				if a.Layout != want {
					t.Errorf("%s found in %v, want %v", a.PredicateType, a.Layout, want)
				}
				types[a.PredicateType] = true
			}
			if !types[provenance.PredicateSLSAProvenanceV1] || !types[sbom.PredicateSPDX] {
				t.Fatalf("predicate types: %v", types)
			}
		})
	}
}

// TestQuickstartKeyAndFlags: -key takes a cosign-encrypted key (and
// refuses a wrong password), and bad -format and -registry values fail.
func TestQuickstartKeyAndFlags(t *testing.T) {
	dir := t.TempDir()
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sign.WriteKeyPair(dir, "cosign", key, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COSIGN_PASSWORD", "s3cret")
	out := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	if err := run(context.Background(), out, files.PrivateKey, "", "referrers", &stdout); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(out, "signer.pub")), mustRead(t, files.PublicKey)) || !bytes.Contains(stdout.Bytes(), []byte(key.KeyID())) {
		t.Fatalf("not signed with the given key:\n%s", stdout.String())
	}
	t.Setenv("COSIGN_PASSWORD", "wrong")
	if err := run(context.Background(), out, files.PrivateKey, "", "referrers", io.Discard); err == nil {
		t.Error("wrong password accepted")
	}
	if err := run(context.Background(), t.TempDir(), "", "", "sideways", io.Discard); err == nil {
		t.Error("bad -format accepted")
	}
	if err := run(context.Background(), t.TempDir(), "", "not a repo", "referrers", io.Discard); err == nil {
		t.Error("bad -registry accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
