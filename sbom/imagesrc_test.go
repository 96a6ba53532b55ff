package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slsakit/slsakit/oci/ocitest"
)

func platformImage(t *testing.T, arch, pkg string) v1.Image {
	img := imageOf(t, layerOf(t,
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status", body: dpkgStanza(pkg, "1.0-1", arch, "install ok installed")},
	))
	cf, err := img.ConfigFile()
	must(t, err)
	cf = cf.DeepCopy()
	cf.Architecture = arch
	img, err = mutate.ConfigFile(img, cf)
	must(t, err)
	return img
}

// multiArch is an index of two platforms, each with its own package, plus
// an attestation-like manifest of platform unknown/unknown.
func multiArch(t *testing.T) v1.ImageIndex {
	return mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformImage(t, "amd64", "only-amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage(t, "arm64", "only-arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: platformImage(t, "amd64", "attestation"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
}

func platformsAndPackages(cs []*ImageContents) []string {
	var out []string
	for _, c := range cs {
		for _, p := range c.Packages {
			out = append(out, c.Platform+" "+p.Name)
		}
	}
	return out
}

// TestScanIndexPerPlatform: one ImageContents per platform, each with only
// its own packages; WithPlatform selects one; an absent platform is
// ErrNoPlatform. The same through an OCI layout on disk, an image tarball
// and a registry.
func TestScanIndexPerPlatform(t *testing.T) {
	ctx := context.Background()
	idx := multiArch(t)
	cs, err := ScanIndex(ctx, idx)
	must(t, err)
	want := []string{"linux/amd64 only-amd64", "linux/arm64 only-arm64"}
	if got := platformsAndPackages(cs); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	arm := v1.Platform{OS: "linux", Architecture: "arm64"}
	cs, err = ScanIndex(ctx, idx, WithPlatform(arm))
	must(t, err)
	if got := platformsAndPackages(cs); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("arm64 only: got %q", got)
	}
	if _, err := ScanIndex(ctx, idx, WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"})); !errors.Is(err, ErrNoPlatform) {
		t.Fatalf("absent platform: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "layout")
	_, err = layout.Write(dir, idx)
	must(t, err)
	// layout.Write makes idx the layout's index.json.
	cs, err = FromOCILayout(ctx, dir)
	must(t, err)
	if got := platformsAndPackages(cs); !reflect.DeepEqual(got, want) {
		t.Fatalf("OCI layout: got %q", got)
	}

	tb := filepath.Join(t.TempDir(), "img.tar")
	ref, err := name.ParseReference("example.com/app:arm64")
	must(t, err)
	must(t, tarball.WriteToFile(tb, ref, platformImage(t, "arm64", "only-arm64")))
	c, err := FromImageTarball(ctx, tb)
	must(t, err)
	if got := platformsAndPackages([]*ImageContents{c}); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("tarball: got %q", got)
	}

	reg := ocitest.NewRegistry(t)
	rref, err := name.ParseReference(reg.Host() + "/multi:latest")
	must(t, err)
	must(t, remote.WriteIndex(rref, idx, remote.WithTransport(reg.Client().Transport)))
	c, err = FromImage(ctx, rref.String(), WithPlatform(arm), WithRemoteOptions(remote.WithTransport(reg.Client().Transport)))
	must(t, err)
	if got := platformsAndPackages([]*ImageContents{c}); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("registry: got %q", got)
	}
	if _, err := FromImage(ctx, "not a ref"); !errors.Is(err, ErrInvalidImage) {
		t.Fatalf("bad ref: %v", err)
	}
}

// TestIndexSBOMGolden: one SBOM for a whole multi-platform index names
// each platform image (its manifest digest, its platform), each of which
// CONTAINS only its own packages; the attestation manifest is not a
// platform. Checked by validation, by the relationships and by golden
// files (testdata/image-index.*).
func TestIndexSBOMGolden(t *testing.T) {
	ctx := context.Background()
	idx := multiArch(t)
	cs, err := ScanIndex(ctx, idx, WithModuleCache(""))
	must(t, err)
	d, err := idx.Digest()
	must(t, err)
	ic, err := IndexContents(d.String(), cs)
	must(t, err)
	s, err := ic.SBOM("example.com/images/multi", WithCreated(fixedTime), WithToolName("slsakit", "v0.0.0-test"))
	must(t, err)
	spdxDoc, err := s.SPDX()
	must(t, err)
	must(t, ValidateSPDX(spdxDoc))
	var sd struct {
		Packages []struct {
			SPDXID, Name string
			ExternalRefs []struct{ ReferenceLocator string }
			Checksums    []struct{ ChecksumValue string }
		}
		Relationships []struct{ SpdxElementId, RelatedSpdxElement, RelationshipType string }
	}
	must(t, json.Unmarshal(spdxDoc, &sd))
	byName := map[string]string{}
	for _, p := range sd.Packages {
		byName[p.Name] = p.SPDXID
	}
	contains := map[[2]string]bool{}
	for _, r := range sd.Relationships {
		if r.RelationshipType == "CONTAINS" {
			contains[[2]string{r.SpdxElementId, r.RelatedSpdxElement}] = true
		}
	}
	root := byName["example.com/images/multi"]
	for _, want := range [][2]string{
		{root, byName["linux/amd64"]}, {root, byName["linux/arm64"]},
		{byName["linux/amd64"], byName["only-amd64"]}, {byName["linux/arm64"], byName["only-arm64"]},
	} {
		if want[0] == "" || want[1] == "" || !contains[want] {
			t.Errorf("lacks %s CONTAINS %s", want[0], want[1])
		}
	}
	if contains[[2]string{byName["linux/arm64"], byName["only-amd64"]}] || byName["attestation"] != "" {
		t.Errorf("a platform holds another's package, or the attestation manifest is a platform")
	}
	docs := map[string][]byte{"image-index.spdx.json": spdxDoc}
	cdxDoc, err := s.CycloneDX()
	must(t, err)
	docs["image-index.cdx.json"] = cdxDoc
	for file, got := range docs {
		p := filepath.Join("testdata", file)
		if *update {
			must(t, os.WriteFile(p, got, 0o644))
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestIndexSBOMGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from golden file (rerun with -update after checking)", file)
		}
	}
	if _, err := IndexContents("sha1:abc", cs); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("bad index digest: %v", err)
	}
	if _, err := IndexContents(d.String(), []*ImageContents{{Kind: "tarball"}}); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("a tarball as platform: %v", err)
	}

	// FromIndex: the registry's index, every platform or --platform's.
	reg := ocitest.NewRegistry(t)
	rref, err := name.ParseReference(reg.Host() + "/multi:latest")
	must(t, err)
	tr := WithRemoteOptions(remote.WithTransport(reg.Client().Transport))
	must(t, remote.WriteIndex(rref, idx, remote.WithTransport(reg.Client().Transport)))
	got, err := FromIndex(ctx, rref.String(), tr)
	must(t, err)
	if got.Kind != "index" || got.Digest != d.String() || !reflect.DeepEqual(platformsAndPackages(got.Nested), []string{"linux/amd64 only-amd64", "linux/arm64 only-arm64"}) {
		t.Fatalf("FromIndex: %+v", got)
	}
	got, err = FromIndex(ctx, rref.String(), tr, WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	must(t, err)
	if !reflect.DeepEqual(platformsAndPackages(got.Nested), []string{"linux/arm64 only-arm64"}) {
		t.Fatalf("FromIndex arm64: %q", platformsAndPackages(got.Nested))
	}
}
