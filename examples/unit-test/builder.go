// Package builder is a stand-in for your build tool: it compiles nothing,
// but it records and signs provenance the way a real builder does. Its test
// file shows how a builder unit-tests that code with slsakit's kits:
// provtest (fixed clock, golden files, assertions) and signtest (a
// deterministic signer).
//
// Run the tests: go test ./examples/unit-test
package builder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// Builder packages the files of a source directory into dist/.
type Builder struct {
	ID     string           // builder ID recorded in provenance
	Signer sign.Signer      // signs the provenance
	Clock  func() time.Time // nil: time.Now
}

// Release is what one build produced.
type Release struct {
	Statement []byte         // in-toto statement with SLSA provenance
	Envelope  *sign.Envelope // the statement, signed
}

// Build "builds" version of the source tree at src into dist and attests it.
func (b *Builder) Build(ctx context.Context, src, dist, version string) (*Release, error) {
	opts := []provenance.RecorderOption{}
	if b.Clock != nil {
		opts = append(opts, provenance.WithClock(b.Clock))
	}
	rec := provenance.NewRecorder(provenance.Builder{ID: b.ID}, "https://example.com/buildtypes/copy@v1", opts...)
	rec.Start()
	if err := rec.SetExternalParameter("version", version); err != nil {
		return nil, err
	}
	srcMat, err := provenance.DirMaterial(ctx, src)
	if err != nil {
		return nil, err
	}
	if err := rec.AddMaterial(srcMat); err != nil {
		return nil, err
	}
	// The "build": copy every source file to dist/<name>-<version>.
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return nil, err
		}
		out := filepath.Join(dist, fmt.Sprintf("%s-%s", e.Name(), version))
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, err
		}
	}
	if err := rec.AddSubjectDir(ctx, dist); err != nil {
		return nil, err
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return nil, err
	}
	env, err := sign.SignStatement(ctx, stmt, b.Signer)
	if err != nil {
		return nil, err
	}
	return &Release{Statement: stmt, Envelope: env}, nil
}
