package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// TestFaultyRegistry: through a proxy that injects 5xx, connection resets
// (before and after forwarding) and delays into ~20% of requests, 16
// concurrent attaches complete; afterwards each attestation is stored
// exactly once and no manifest points at a missing blob.
func TestFaultyRegistry(t *testing.T) {
	reg := regproc.Start(t)
	kp := newKeyPair(t)
	for i, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		t.Run(layoutName(layout), func(t *testing.T) {
			ctx := testCtx(t, 3*time.Minute)
			img := reg.PushRandomImage(t, "faults/"+layoutName(layout), 256)
			px := newProxy(t, reg.Host(), 0.20, 200, uint64(20261123+i))
			viaProxy, err := name.NewDigest(strings.Replace(img.String(), reg.Host(), px.Host(), 1), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}

			const n = 16
			want := map[string]bool{}
			envs := make([]*sign.Envelope, n)
			for j := range envs {
				envs[j] = kp.sign(t, statement(t, img, fmt.Sprintf("fault-%d", j)))
				want[string(envs[j].Payload)] = true
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for j, env := range envs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[j] = oci.Attach(ctx, viaProxy.String(), &sign.Attestation{Envelope: env}, ociOpts(layout, oci.WithRetry(10))...)
				}()
			}
			wg.Wait()
			for j, err := range errs {
				if err != nil {
					t.Errorf("attach %d through the faulty proxy: %v", j, err)
				}
			}
			t.Logf("proxy: %d requests, %d faults injected: %v", px.requests.Load(), px.faults.Load(), px.kinds())
			for kind, n := range px.kinds() {
				if n == 0 {
					t.Errorf("no %s fault was injected: the test proves less than it claims", kind)
				}
			}
			// Check directly on the registry, bypassing the proxy.
			assertExactly(t, ctx, img, layout, want)
			assertBlobsExist(t, ctx, img, layout)
		})
	}
}
