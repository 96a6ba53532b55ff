package oci_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// inflight counts concurrent requests per server and remembers the most.
type inflight struct {
	mu       sync.Mutex
	cur, max int
}

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.cur++
		f.max = max(f.max, f.cur)
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.cur--; f.mu.Unlock() }()
		h.ServeHTTP(w, r)
	})
}

// A release attach where some images cannot be written: every other
// image gets all its attestations (index and platforms), the error names
// exactly the failed images and matches their causes, and no more jobs
// than asked run at once. Transient faults on every request are retried.
func TestAttachAllFaults(t *testing.T) {
	ctx := context.Background()
	var fl inflight
	var deny atomic.Bool // set once the images are pushed
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		h = fl.wrap(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The registry refuses writes to some repositories (quota,
			// permissions): permanent failures.
			if deny.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/broken-") {
				http.Error(w, `{"errors":[{"code":"DENIED"}]}`, http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	const n, concurrency = 12, 3
	broken := map[int]bool{2: true, 7: true, 11: true}
	var jobs []oci.Job
	var indexes []*ocitest.Index
	for i := range n {
		repo := fmt.Sprintf("k8s/img-%02d", i)
		if broken[i] {
			repo = fmt.Sprintf("k8s/broken-%02d", i)
		}
		x := reg.PushRandomIndex(t, repo, "linux/amd64", "linux/arm64", "linux/s390x")
		indexes = append(indexes, x)
		refs := []string{x.Ref, x.Platforms["linux/amd64"], x.Platforms["linux/arm64"], x.Platforms["linux/s390x"]}
		jobs = append(jobs, oci.Job{
			Image:        reg.Host() + "/" + repo + ":latest",
			Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, refs...)}, {Envelope: envelopeAbout(t, 2, refs...)}},
			Options:      []oci.Option{oci.WithRecursive()},
		})
	}
	ft := ocitest.NewFaultTransport(http.DefaultTransport, 0.03, 7)
	deny.Store(true)
	fl.mu.Lock()
	fl.max = 0
	fl.mu.Unlock()
	results, err := oci.AttachAll(ctx, jobs, oci.WithInsecure(), oci.WithTransport(ft), oci.WithConcurrency(concurrency), oci.WithLayout(oci.Both))
	var all *oci.AttachAllError
	if !errors.As(err, &all) {
		t.Fatalf("AttachAll: %v, want *AttachAllError", err)
	}
	var failed []int
	for _, f := range all.Failed {
		failed = append(failed, f.Job)
		if f.Image != jobs[f.Job].Image || !errors.Is(f, oci.ErrUnauthorized) {
			t.Errorf("job %d: %v", f.Job, f)
		}
	}
	if !slices.Equal(failed, []int{2, 7, 11}) || all.Jobs != n || !errors.Is(err, oci.ErrUnauthorized) {
		t.Fatalf("failed jobs %v of %d, want [2 7 11]: %v", failed, all.Jobs, err)
	}
	for _, i := range failed {
		if !strings.Contains(err.Error(), jobs[i].Image) {
			t.Errorf("error does not name %s:\n%v", jobs[i].Image, err)
		}
	}
	for i, x := range indexes {
		r := results[i]
		if broken[i] {
			if r.Err == nil {
				t.Errorf("job %d: no error", i)
			}
			continue
		}
		if r.Err != nil || len(r.Attached) != 2 || r.Requests == 0 {
			t.Errorf("job %d: %+v", i, r)
		}
		for _, ref := range []string{x.Ref, x.Platforms["linux/amd64"], x.Platforms["linux/arm64"], x.Platforms["linux/s390x"]} {
			checkStoredOnce(t, ref, oci.Both, 2)
		}
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.max > concurrency {
		t.Errorf("%d requests in flight at once, concurrency %d (each job's requests are sequential)", fl.max, concurrency)
	}
	if ft.Faults() == 0 {
		t.Error("no faults injected")
	}
}

func TestAttachAllArguments(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "k8s/one")
	results, err := oci.AttachAll(ctx, []oci.Job{
		{Image: img},
		{Image: img, Attestations: []*sign.Attestation{nil}},
		{Image: "not a ref", Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, img)}}},
		{Image: img, Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, img)}}},
	}, oci.WithInsecure())
	var all *oci.AttachAllError
	if !errors.As(err, &all) || len(all.Failed) != 3 || !errors.Is(err, oci.ErrInvalidArgument) || !errors.Is(err, oci.ErrInvalidReference) {
		t.Fatalf("err = %v", err)
	}
	if results[3].Err != nil || len(list(t, img)) != 1 {
		t.Errorf("good job: %+v", results[3])
	}
	if results, err := oci.AttachAll(ctx, nil); err != nil || len(results) != 0 {
		t.Errorf("no jobs: %v %v", results, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := oci.AttachAll(cctx, []oci.Job{{Image: img, Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 3, img)}}}}, oci.WithInsecure()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
