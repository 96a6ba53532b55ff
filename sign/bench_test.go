package sign_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign"
)

// BenchmarkSignVerify signs and verifies a 1 KiB message per algorithm.
func BenchmarkSignVerify(b *testing.B) {
	ctx := context.Background()
	msg := bytes.Repeat([]byte("x"), 1<<10)
	for _, alg := range sign.Algorithms() {
		b.Run(string(alg), func(b *testing.B) {
			s := signerFor(b, alg)
			v, err := sign.VerifierFor(s)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				sig, err := s.Sign(ctx, msg)
				if err != nil {
					b.Fatal(err)
				}
				if err := v.Verify(ctx, msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// payload10K is a ~10 KB JSON-ish statement body.
func payload10K() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"_type":"https://in-toto.io/Statement/v1","subject":[`)
	for i := 0; buf.Len() < 10<<10; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"name":"artifact.tar.gz","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}`)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

// envelopeOnce is slsakit's path: SignEnvelope, then verify the signature
// over the envelope's PAE.
func envelopeOnce(tb testing.TB, s sign.Signer, v sign.Verifier, payload []byte) {
	ctx := context.Background()
	env, err := sign.SignEnvelope(ctx, sign.PayloadTypeInToto, payload, s)
	if err != nil {
		tb.Fatal(err)
	}
	if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		tb.Fatal(err)
	}
}

// floorOnce is the raw crypto floor over the same bytes and key: SHA-256 of
// the PAE, ecdsa.SignASN1, SHA-256 again and ecdsa.VerifyASN1.
func floorOnce(tb testing.TB, key *ecdsa.PrivateKey, pae []byte) {
	d := sha256.Sum256(pae)
	sig, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		tb.Fatal(err)
	}
	d2 := sha256.Sum256(pae)
	if !ecdsa.VerifyASN1(&key.PublicKey, d2[:], sig) {
		tb.Fatal("floor: signature does not verify")
	}
}

// BenchmarkEnvelope10KB compares SignEnvelope + verify of a ~10 KB payload
// (ECDSA P-256) with the raw crypto floor on the same key and PAE bytes.
// The "ratio" sub-benchmark interleaves both in one loop, so both see the
// same machine load, and reports envelope-ns/op, floor-ns/op and their
// ratio (goal <= 1.25).
func BenchmarkEnvelope10KB(b *testing.B) {
	key := keyFor(sign.ECDSAP256SHA256).(*ecdsa.PrivateKey)
	s := signerFor(b, sign.ECDSAP256SHA256)
	v, err := sign.VerifierFor(s)
	if err != nil {
		b.Fatal(err)
	}
	payload := payload10K()
	pae := sign.PAE(sign.PayloadTypeInToto, payload)
	b.Run("envelope", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			envelopeOnce(b, s, v, payload)
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			floorOnce(b, key, pae)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var env, floor time.Duration
		n := 0
		for b.Loop() {
			// Alternate the order so neither side always pays for the
			// other's garbage or cache misses.
			if n%2 == 0 {
				t0 := time.Now()
				envelopeOnce(b, s, v, payload)
				t1 := time.Now()
				floorOnce(b, key, pae)
				env, floor = env+t1.Sub(t0), floor+time.Since(t1)
			} else {
				t0 := time.Now()
				floorOnce(b, key, pae)
				t1 := time.Now()
				envelopeOnce(b, s, v, payload)
				floor, env = floor+t1.Sub(t0), env+time.Since(t1)
			}
			n++
		}
		b.ReportMetric(float64(env.Nanoseconds())/float64(n), "envelope-ns/op")
		b.ReportMetric(float64(floor.Nanoseconds())/float64(n), "floor-ns/op")
		b.ReportMetric(float64(env)/float64(floor), "ratio")
	})
}
