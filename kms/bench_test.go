package kms_test

import (
	"context"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
)

// BenchmarkSign measures signatures per second through the real Cloud KMS
// client against kmstest over loopback (EC P-256): one AsymmetricSign RPC,
// the CRC32C checks and local verification per signature.
func BenchmarkSign(b *testing.B) {
	srv := kmstest.NewServer(b)
	version := srv.CreateKey(keyRing, "bench", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	s := newSigner(b, srv, version)
	pae := sign.PAE(sign.PayloadTypeInToto, []byte(statement))
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Sign(ctx, pae); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Sign(ctx, pae); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
	})
}
