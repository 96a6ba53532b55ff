package builder_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	builder "github.com/slsakit/slsakit/examples/unit-test"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/provtest"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

// This is what a builder's own test looks like with slsakit's kits.
func TestBuildRecordsProvenance(t *testing.T) {
	ctx := context.Background()
	src, dist := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "app"), []byte("app bytes"), 0o644); err != nil {
		t.Fatal(err)
	}

	b := &builder.Builder{
		ID:     "https://ci.example.com/builders/copy@v1",
		Signer: signtest.NewSigner("release-key"), // deterministic, in memory
		Clock:  provtest.Clock(),                  // stable timestamps
	}
	rel, err := b.Build(ctx, src, dist, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}

	st := provtest.Parse(t, rel.Statement)
	appDigest, _ := provenance.HashFile(ctx, filepath.Join(dist, "app-1.2.3"))
	provtest.HasSubject(t, st, "app-1.2.3", appDigest)
	provtest.ParameterEquals(t, st, "version", "1.2.3")
	srcDigest, _ := provenance.DirMaterial(ctx, src)
	provtest.HasMaterial(t, st, srcDigest.URI, srcDigest.Digest)

	// The whole statement, minus what changes between runs, against a
	// golden file (SLSAKIT_UPDATE_GOLDEN=1 rewrites it). The source
	// directory's path is a temp dir, so ignore it.
	provtest.Golden(t, rel.Statement, "testdata/provenance.golden.json",
		"predicate.buildDefinition.resolvedDependencies")

	// And the signature verifies with the test key.
	v, err := verify.New(verify.WithKeys(signtest.Verifier(t, b.Signer)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyEnvelope(ctx, rel.Envelope, verify.Expectations{SubjectDigest: appDigest, BuilderID: b.ID}); err != nil {
		t.Fatal(err)
	}
}
