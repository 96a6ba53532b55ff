package oci_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

// tagWatch follows, at the registry, the writes of cosign's legacy tags
// (sha256-<hex>.att and .sig), which every write of a registry without the
// referrers API goes through (write, settle, read back): which images are
// mid-write (their tag PUT has arrived and no GET of the tag has followed
// it yet) and how many requests are in flight.
type tagWatch struct {
	// barrier, when > 0, holds every tag PUT until that many are held at
	// once: reached only if that many images write concurrently. guard
	// ends the wait when it is not (the scheduling under test is wrong),
	// so that the test fails instead of hanging.
	barrier int
	guard   time.Duration
	// putDelay makes each tag PUT slow, as a loaded registry's are: an
	// image then settles for at least three times as long.
	putDelay time.Duration

	fl     inflight // requests in flight
	mu     sync.Mutex
	mid    map[string]bool
	maxMid int
	held   int
	open   chan struct{}
	once   sync.Once
	gaveUp bool
}

func newTagWatch() *tagWatch {
	return &tagWatch{mid: map[string]bool{}, open: make(chan struct{}), guard: 20 * time.Second}
}

func (w *tagWatch) wrap(h http.Handler) http.Handler {
	// Counted in flight for the whole request, held or delayed.
	return w.fl.wrap(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, tag, _ := strings.Cut(r.URL.Path, "/manifests/")
		if strings.HasPrefix(tag, "sha256-") && (strings.HasSuffix(tag, ".att") || strings.HasSuffix(tag, ".sig")) {
			switch r.Method {
			case http.MethodPut:
				w.mu.Lock()
				w.mid[tag] = true
				w.maxMid = max(w.maxMid, len(w.mid))
				w.held++
				if w.barrier > 0 && w.held >= w.barrier {
					w.once.Do(func() { close(w.open) })
				}
				w.mu.Unlock()
				if w.barrier > 0 {
					select {
					case <-w.open:
					case <-time.After(w.guard):
						w.mu.Lock()
						w.gaveUp = true
						w.mu.Unlock()
						w.once.Do(func() { close(w.open) })
					}
				}
				time.Sleep(w.putDelay)
			case http.MethodGet, http.MethodHead:
				w.mu.Lock()
				delete(w.mid, tag)
				w.mu.Unlock()
			}
		}
		h.ServeHTTP(rw, r)
	}))
}

// releaseJob is one index of five platforms on reg as an AttachAll job
// that attaches (legacy layout) or, with signer, signs (.sig) all six
// images.
func releaseJob(t *testing.T, reg *ocitest.Registry, signer sign.Signer) (oci.Job, []string) {
	t.Helper()
	x := reg.PushRandomIndex(t, "k8s/sched", k8sPlatforms...)
	refs := allRefs(x)
	j := oci.Job{Image: reg.Host() + "/k8s/sched:latest", Options: []oci.Option{oci.WithRecursive(), oci.WithLayout(oci.Legacy)}}
	if signer != nil {
		j.Signer = signer
	} else {
		j.Attestations = []*sign.Attestation{{Envelope: envelopeAbout(t, 1, refs...)}}
	}
	return j, refs
}

func checkJobStored(t *testing.T, refs []string, signer sign.Signer) {
	t.Helper()
	for _, r := range refs {
		if signer != nil {
			if n := len(listSigs(t, r, oci.WithLayout(oci.Legacy))); n != 1 {
				t.Errorf("%s: %d signatures, want 1", r, n)
			}
		} else {
			checkStoredOnce(t, r, oci.Legacy, 1)
		}
	}
}

// Inside AttachAll an index's images are scheduled one by one in the
// release's pool, not as one job: with concurrency 6, all six images of an
// index (the index and its five platform manifests) write their tags
// before any of them reads its tag back, so their settle waits overlap.
// The registry holds every tag write until six are in flight at once,
// which happens only if the six images are written concurrently. On main,
// AttachAll wrote an index's images one after the other: the first write
// waited alone until the guard gave up.
func TestAttachAllOverlapsImagesOfAnIndex(t *testing.T) {
	for _, signer := range []sign.Signer{nil, signtest.NewSigner("sched")} {
		name := "attach"
		if signer != nil {
			name = "sign"
		}
		t.Run(name, func(t *testing.T) {
			w := newTagWatch()
			w.barrier = 1 + len(k8sPlatforms)
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(w.wrap))
			job, refs := releaseJob(t, reg, signer)
			res, err := oci.AttachAll(context.Background(), []oci.Job{job}, oci.WithInsecure(), oci.WithConcurrency(len(refs)))
			if err != nil {
				t.Fatalf("AttachAll: %v", err)
			}
			w.mu.Lock()
			gaveUp, maxMid := w.gaveUp, w.maxMid
			w.mu.Unlock()
			if gaveUp || maxMid != len(refs) {
				t.Errorf("at most %d of %d images had written their tag before a read-back (guard gave up: %v)", maxMid, len(refs), gaveUp)
			}
			if res[0].Requests == 0 {
				t.Error("no requests counted")
			}
			checkJobStored(t, refs, signer)
		})
	}
}

// A request slot bounds work against the registry, not waiting: with
// concurrency 2, no more than 2 requests are ever in flight, yet more than
// 2 images of the index are mid-write at once, because an image settling
// before its read-back (three times its read-to-write window, which slow
// tag writes make long) holds no slot. On main, AttachAll gave an index's
// images one slot between them: one image was mid-write at a time.
func TestAttachAllSettlingImagesHoldNoSlot(t *testing.T) {
	const concurrency = 2
	for _, signer := range []sign.Signer{nil, signtest.NewSigner("slots")} {
		name := "attach"
		if signer != nil {
			name = "sign"
		}
		t.Run(name, func(t *testing.T) {
			w := newTagWatch()
			w.putDelay = 20 * time.Millisecond
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(w.wrap))
			job, refs := releaseJob(t, reg, signer)
			w.fl.mu.Lock()
			w.fl.max = 0
			w.fl.mu.Unlock()
			if _, err := oci.AttachAll(context.Background(), []oci.Job{job}, oci.WithInsecure(), oci.WithConcurrency(concurrency)); err != nil {
				t.Fatalf("AttachAll: %v", err)
			}
			w.fl.mu.Lock()
			maxInflight := w.fl.max
			w.fl.mu.Unlock()
			w.mu.Lock()
			maxMid := w.maxMid
			w.mu.Unlock()
			if maxInflight > concurrency {
				t.Errorf("%d requests in flight at once, concurrency %d", maxInflight, concurrency)
			}
			if maxMid <= concurrency {
				t.Errorf("at most %d images mid-write at once with %d request slots: settling images hold slots", maxMid, concurrency)
			}
			checkJobStored(t, refs, signer)
		})
	}
}
