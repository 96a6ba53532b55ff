package intoto_test

import (
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

// The rules run once per subject and material of every attestation a
// policy evaluates; these measure them beside BenchmarkEvaluate's ~60 µs
// ECDSA floor.
func BenchmarkDigestRules(b *testing.B) {
	subject := intoto.DigestSet{"sha256": h256, "sha512": h512}
	want := intoto.DigestSet{"sha256": h256}
	b.Run("MatchesStrong", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !subject.MatchesStrong(want) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := subject.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseImage/oci", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := intoto.ParseImage("oci://registry.example.com/team/app:v1@sha256:"+h256, want); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseImage/purl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := intoto.ParseImage("pkg:docker/team/app@sha256%3A"+h256+"?repository_url=registry.example.com&arch=amd64", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseImage/not-image", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := intoto.ParseImage("git+https://github.com/example/app@refs/heads/main", want); err == nil {
				b.Fatal("image")
			}
		}
	})
}
