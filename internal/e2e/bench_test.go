package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
)

// BenchmarkAttachVerify compares the wall time of attaching a SLSA v1
// attestation to an image and verifying the image (fetch, signature,
// subject) with slsakit and with the cosign CLI (attest +
// verify-attestation), on the same real registry in one run. Each iteration
// uses a freshly pushed image (not timed). Metrics: attach-ms and verify-ms
// per operation, and registry requests per attach and per verify, counted by
// a transport (slsakit) or by a counting proxy in front of the registry
// (cosign).
//
//	go test ./internal/e2e -run '^$' -bench AttachVerify -benchtime 10x
func BenchmarkAttachVerify(b *testing.B) {
	reg := regproc.Start(b)
	kp := newKeyPair(b)

	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		b.Run("slsakit/"+layoutName(layout), func(b *testing.B) {
			ctx := testCtx(b, 10*time.Minute)
			ct := &countingTransport{base: http.DefaultTransport}
			var attachReqs, verifyReqs int64
			var attachDur, verifyDur time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				img := reg.PushRandomImage(b, fmt.Sprintf("bench/slsakit-%s", layoutName(layout)), 256)
				b.StartTimer()

				t0 := time.Now()
				before := ct.n.Load()
				env := kp.sign(b, statement(b, img, "bench"))
				res := attach(b, ctx, img, env, layout, oci.WithTransport(ct))
				attachReqs += ct.n.Load() - before
				if i == 0 {
					b.Logf("requests of one %s attach:\n  %s", layoutName(layout), strings.Join(ct.takeLog(), "\n  "))
				}
				t1 := time.Now()
				before = ct.n.Load()
				n, err := verifyImage(ctx, img, kp.signer.Public(), layout, oci.WithTransport(ct))
				if err != nil || n != 1 {
					b.Fatalf("verifyImage = %d, %v", n, err)
				}
				verifyReqs += ct.n.Load() - before
				if i == 0 {
					b.Logf("requests of one %s verify:\n  %s", layoutName(layout), strings.Join(ct.takeLog(), "\n  "))
				}
				attachDur += t1.Sub(t0)
				verifyDur += time.Since(t1)
				if i == 0 && res.Requests != 0 && int64(res.Requests) != attachReqs {
					b.Logf("AttachResult.Requests = %d, counting transport saw %d", res.Requests, attachReqs)
				}
			}
			report(b, attachDur, verifyDur, attachReqs, verifyReqs)
		})
	}

	for _, tc := range cosignCases {
		b.Run("cosign-"+tc.version+"/"+layoutName(tc.layout), func(b *testing.B) {
			c := newCosign(b, tc.env, tc.version)
			ctx := testCtx(b, 20*time.Minute)
			keys := c.generateKeyPair(b, ctx)
			key, pub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
			pred := predicateFile(b, "bench")
			px := newProxy(b, reg.Host(), 0, 0, 1)
			var attachReqs, verifyReqs int64
			var attachDur, verifyDur time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				img := reg.PushRandomImage(b, fmt.Sprintf("bench/cosign-%s", tc.version), 256)
				viaProxy, err := name.NewDigest(strings.Replace(img.String(), reg.Host(), px.Host(), 1), name.Insecure)
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				b.StartTimer()

				t0 := time.Now()
				before := px.requests.Load()
				c.mustRun(b, ctx, dir, c.attestArgs(key, pred, viaProxy)...)
				attachReqs += px.requests.Load() - before
				t1 := time.Now()
				before = px.requests.Load()
				c.mustRun(b, ctx, dir, verifyAttestationArgs(pub, viaProxy)...)
				verifyReqs += px.requests.Load() - before
				attachDur += t1.Sub(t0)
				verifyDur += time.Since(t1)
			}
			report(b, attachDur, verifyDur, attachReqs, verifyReqs)
		})
	}
}

func report(b *testing.B, attachDur, verifyDur time.Duration, attachReqs, verifyReqs int64) {
	n := float64(b.N)
	b.ReportMetric(float64(attachDur.Microseconds())/1e3/n, "attach-ms/op")
	b.ReportMetric(float64(verifyDur.Microseconds())/1e3/n, "verify-ms/op")
	b.ReportMetric(float64(attachReqs)/n, "req/attach")
	b.ReportMetric(float64(verifyReqs)/n, "req/verify")
}
