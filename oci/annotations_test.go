package oci_test

import (
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
)

func TestWithLayerAnnotations(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "keyless")
	env := envelope(t, img, "https://slsa.dev/provenance/v1", 1)
	attach(t, img, env, oci.WithLayout(oci.Legacy), oci.WithLayerAnnotations(map[string]string{
		"dev.sigstore.cosign/certificate": "-----BEGIN CERTIFICATE-----\n...",
		"dev.sigstore.cosign/bundle":      `{"SignedEntryTimestamp":"x"}`,
		oci.AnnotationPredicateType:       "https://evil.example/forged", // must not win
		oci.AnnotationSignature:           "forged",
	}))
	man := legacyManifest(t, img, "")
	if len(man.Layers) != 1 {
		t.Fatalf("%d layers", len(man.Layers))
	}
	ann := man.Layers[0].Annotations
	if ann["dev.sigstore.cosign/certificate"] == "" || ann["dev.sigstore.cosign/bundle"] == "" {
		t.Fatalf("caller annotations missing: %v", ann)
	}
	if ann[oci.AnnotationPredicateType] != "https://slsa.dev/provenance/v1" || ann[oci.AnnotationSignature] != "" {
		t.Fatalf("caller annotations overrode slsakit's: %v", ann)
	}
	// Still read back as the same attestation.
	if atts := list(t, img); len(atts) != 1 || atts[0].PredicateType != "https://slsa.dev/provenance/v1" {
		t.Fatalf("list: %+v", atts)
	}
}
