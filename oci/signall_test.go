package oci_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

// Sign with WithRecursive signs an index and every platform image it
// lists (cosign sign --recursive), so that a verifier of the image a node
// pulls finds a signature; without it only the index is signed. Signing
// again adds nothing and costs one request per image plus the index read.
// On main WithRecursive was ignored by Sign: the platforms stayed unsigned.
func TestSignRecursive(t *testing.T) {
	for _, layout := range []oci.Layout{oci.Legacy, oci.Referrers} {
		t.Run(fmt.Sprint(layout), func(t *testing.T) {
			reg := ocitest.NewRegistry(t)
			s := signtest.NewSigner("rec")
			flat := reg.PushRandomIndex(t, "k8s/flat", k8sPlatforms...)
			signImage(t, reg.Host()+"/k8s/flat:latest", s, oci.WithLayout(layout))
			if n := len(listSigs(t, flat.Ref, oci.WithLayout(layout))); n != 1 {
				t.Fatalf("index: %d signatures", n)
			}
			for _, p := range k8sPlatforms {
				if n := len(listSigs(t, flat.Platforms[p], oci.WithLayout(layout))); n != 0 {
					t.Fatalf("%s signed without WithRecursive", p)
				}
			}

			x := reg.PushRandomIndex(t, "k8s/etcd", k8sPlatforms...)
			tag := reg.Host() + "/k8s/etcd:latest"
			res := signImage(t, tag, s, oci.WithLayout(layout), oci.WithRecursive())
			if res.Image != x.Ref || len(res.Manifests) != len(k8sPlatforms) {
				t.Fatalf("result %s with %d manifests", res.Image, len(res.Manifests))
			}
			for i, p := range k8sPlatforms {
				if res.Manifests[i].Image != x.Platforms[p] {
					t.Errorf("manifest %d: %s, want %s (%s)", i, res.Manifests[i].Image, x.Platforms[p], p)
				}
			}
			for _, r := range allRefs(x) {
				if n := len(listSigs(t, r, oci.WithLayout(layout))); n != 1 {
					t.Errorf("%s: %d signatures, want 1", r, n)
				}
			}
			again := signImage(t, tag, s, oci.WithLayout(layout), oci.WithRecursive())
			for _, r := range allRefs(x) {
				if n := len(listSigs(t, r, oci.WithLayout(layout))); n != 1 {
					t.Errorf("after signing again %s: %d signatures, want 1", r, n)
				}
			}
			if layout == oci.Legacy && again.Requests != 1+len(allRefs(x)) {
				t.Errorf("signing again: %d requests, want %d (index read + one .sig read per image)", again.Requests, 1+len(allRefs(x)))
			}
			if max := 1 + 5*len(allRefs(x)); layout == oci.Legacy && res.Requests > max {
				t.Errorf("first recursive signature: %d requests, want ≤ %d", res.Requests, max)
			}
		})
	}
}

// A release whose jobs attach and sign: every image that can be written is
// attested and signed (index and platforms), the one error names exactly
// the failed images, and a signature is not written for a job whose
// attestation failed.
func TestAttachAllSigns(t *testing.T) {
	ctx := context.Background()
	var deny atomic.Bool
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if deny.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/broken-") {
				http.Error(w, `{"errors":[{"code":"DENIED"}]}`, http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	s := signtest.NewSigner("release")
	broken := map[int]bool{1: true, 4: true}
	var jobs []oci.Job
	var indexes []*ocitest.Index
	for i := range 6 {
		repo := fmt.Sprintf("k8s/img-%02d", i)
		if broken[i] {
			repo = fmt.Sprintf("k8s/broken-%02d", i)
		}
		x := reg.PushRandomIndex(t, repo, "linux/amd64", "linux/arm64")
		indexes = append(indexes, x)
		jobs = append(jobs, oci.Job{
			Image:        reg.Host() + "/" + repo + ":latest",
			Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, allRefs(x)...)}},
			Signer:       s,
			Options:      []oci.Option{oci.WithRecursive()},
		})
	}
	// A job with only a signer is a signing job.
	only := reg.PushRandomImage(t, "k8s/sign-only")
	jobs = append(jobs, oci.Job{Image: only, Signer: s})
	deny.Store(true)
	results, err := oci.AttachAll(ctx, jobs, oci.WithInsecure(), oci.WithConcurrency(3))
	var all *oci.AttachAllError
	if !errors.As(err, &all) || !errors.Is(err, oci.ErrUnauthorized) {
		t.Fatalf("AttachAll: %v, want *AttachAllError", err)
	}
	var failed []int
	for _, f := range all.Failed {
		failed = append(failed, f.Job)
	}
	if !slices.Equal(failed, []int{1, 4}) {
		t.Fatalf("failed jobs %v, want [1 4]: %v", failed, err)
	}
	for i, x := range indexes {
		want := 1
		if broken[i] {
			want = 0
		} else if results[i].Signed == nil || len(results[i].Signed.Manifests) != 2 {
			t.Errorf("job %d: signed %+v", i, results[i].Signed)
		}
		for _, r := range allRefs(x) {
			if n := len(listSigs(t, r)); n != want {
				t.Errorf("job %d %s: %d signatures, want %d", i, r, n, want)
			}
			if n := len(list(t, r)); n != want {
				t.Errorf("job %d %s: %d attestations, want %d", i, r, n, want)
			}
		}
	}
	if n := len(listSigs(t, only)); n != 1 || results[len(jobs)-1].Err != nil {
		t.Errorf("sign-only job: %d signatures, %v", n, results[len(jobs)-1].Err)
	}
}
