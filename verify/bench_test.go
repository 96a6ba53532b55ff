package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// BenchmarkEvaluate measures a full policy evaluation of one attestation
// (signature, statement parse, every provenance rule) against its floor:
// the one ECDSA P-256 verification it cannot avoid, on the same PAE bytes.
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	t := &testing.T{}
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		b.Fatal(err)
	}
	pem, _ := sign.MarshalPublicKey(key.Public())
	doc := strings.NewReplacer("ROOTKEY", indent(string(pem)), "STORAGEKEY", indent(string(pem))).Replace(basePolicy)
	doc = strings.Replace(doc, "  - artifacts: \"registry.example.com/sig-storage/*\"", "  - artifacts: \"registry.example.com/sig-storage/x\"", 1)
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	env := envelope(t, build{}.statement(t), key)
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	if _, err := eng.Evaluate(ctx, art, attsOf(env)); err != nil {
		b.Fatal(err)
	}
	pae := env.PAE()
	pub := key.Public().(*ecdsa.PublicKey)

	b.Run("policy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := eng.Evaluate(ctx, art, attsOf(env)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-ecdsa-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.Sum256(pae)
			if !ecdsa.VerifyASN1(pub, h[:], env.Signatures[0].Sig) {
				b.Fatal("no verify")
			}
		}
	})
}
