package oci_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// uploadsByRepo counts, on the server side, the blob uploads completed
// (201 Created to a request under /blobs/uploads/: a single POST, the PUT
// that ends an upload, or a mount) per repository.
type uploadsByRepo struct {
	mu sync.Mutex
	n  map[string]int
}

func (u *uploadsByRepo) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/uploads/")
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusCreated {
			u.mu.Lock()
			u.n[repo]++
			u.mu.Unlock()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// A release puts one provenance on an index and its five platform images,
// all in one repository: AttachAll uploads its bundle, and the empty
// config, once per repository, not once per image, and every image of
// every repository still lists it (the blobs went to each repository).
func TestAttachAllUploadsEachBlobOncePerRepository(t *testing.T) {
	for _, impl := range ocitest.Impls() {
		for _, referrers := range []bool{true, false} {
			name := string(impl) + map[bool]string{true: "/referrers-api", false: "/referrers-tag"}[referrers]
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				up := &uploadsByRepo{n: map[string]int{}}
				reg := ocitest.NewRegistry(t, ocitest.WithImpl(impl), ocitest.WithReferrers(referrers), ocitest.WithHandler(up.wrap))
				a := reg.PushRandomIndex(t, "rel/a", k8sPlatforms...)
				b := reg.PushRandomIndex(t, "rel/b", k8sPlatforms...)
				up.mu.Lock()
				clear(up.n)
				up.mu.Unlock()
				prov := &sign.Attestation{Envelope: envelopeAbout(t, 1, append(allRefs(a), allRefs(b)...)...)}
				jobs := []oci.Job{
					{Image: a.Ref, Attestations: []*sign.Attestation{prov}, Options: []oci.Option{oci.WithRecursive()}},
					{Image: b.Ref, Attestations: []*sign.Attestation{prov}, Options: []oci.Option{oci.WithRecursive()}},
				}
				if _, err := oci.AttachAll(ctx, jobs, oci.WithInsecure()); err != nil {
					t.Fatal(err)
				}
				up.mu.Lock()
				got := map[string]int{"rel/a": up.n["rel/a"], "rel/b": up.n["rel/b"]}
				up.mu.Unlock()
				for repo, n := range got {
					// The bundle and the empty config, each once.
					if n != 2 {
						t.Errorf("%s: %d blob uploads, want 2 (bundle and empty config, once each for 6 images)", repo, n)
					}
				}
				for _, ref := range append(allRefs(a), allRefs(b)...) {
					if atts := list(t, ref); len(atts) != 1 {
						t.Errorf("%s: %d attestations listed, want 1", ref, len(atts))
					}
				}
			})
		}
	}
}

// An upload that fails is not taken as done by the images waiting on it:
// each uploads for itself, so one image's failure costs that image only
// (and nobody waits forever on a failed upload).
func TestAttachAllRetriesAFailedSharedUpload(t *testing.T) {
	var armed, failed atomic.Bool
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The first upload of the release is refused for good (400 is
			// not retried).
			if armed.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") && failed.CompareAndSwap(false, true) {
				http.Error(w, `{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}`, http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	x := reg.PushRandomIndex(t, "rel/x", k8sPlatforms...)
	armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prov := &sign.Attestation{Envelope: envelopeAbout(t, 1, allRefs(x)...)}
	_, err := oci.AttachAll(ctx, []oci.Job{{Image: x.Ref, Attestations: []*sign.Attestation{prov}, Options: []oci.Option{oci.WithRecursive()}}}, oci.WithInsecure())
	var re *oci.RegistryError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Fatalf("AttachAll: %v, want the one refused upload's 400", err)
	}
	if ctx.Err() != nil {
		t.Fatal("AttachAll waited on a failed upload until the deadline")
	}
	attached := 0
	for _, ref := range allRefs(x) {
		attached += len(list(t, ref))
	}
	if attached != len(allRefs(x))-1 {
		t.Errorf("%d of %d images have the attestation, want all but the one whose upload was refused", attached, len(allRefs(x)))
	}
}

// On a registry without the referrers API, one image of a batch asks for
// a referrers list and the others, told by its 404, go straight to the
// referrers tag; with the API each image asks for its own list.
func TestAttachAllProbesTheReferrersAPIOnce(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "api", false: "tag"}[referrers], func(t *testing.T) {
			var asked atomic.Int64
			reg := ocitest.NewRegistry(t, ocitest.WithReferrers(referrers), ocitest.WithHandler(func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.URL.Path, "/referrers/") {
						asked.Add(1)
					}
					h.ServeHTTP(w, r)
				})
			}))
			var jobs []oci.Job
			images := 0
			for _, repo := range []string{"p/a", "p/b", "p/c"} {
				x := reg.PushRandomIndex(t, repo, k8sPlatforms...)
				jobs = append(jobs, oci.Job{Image: x.Ref, Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, allRefs(x)...)}}, Options: []oci.Option{oci.WithRecursive()}})
				images += len(allRefs(x))
			}
			if _, err := oci.AttachAll(context.Background(), jobs, oci.WithInsecure()); err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if referrers {
				want = int64(images)
			}
			if got := asked.Load(); got != want {
				t.Errorf("%d referrers requests for %d images, want %d", got, images, want)
			}
			for _, j := range jobs {
				if n := len(list(t, j.Image)); n != 1 {
					t.Errorf("%s: %d attestations, want 1", j.Image, n)
				}
			}
		})
	}
}

// A probe whose request fails decides nothing: the next image asks
// again and its answer is the batch's, so a transient failure does not
// cost the batch the shortcut (nor make it believe in an API it did not
// see).
func TestAttachAllProbeFailureAsksAgain(t *testing.T) {
	var asked atomic.Int64
	reg := ocitest.NewRegistry(t, ocitest.WithReferrers(false), ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/referrers/") && asked.Add(1) == 1 {
				// Not retried: the first image fails on it.
				http.Error(w, "denied", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	var jobs []oci.Job
	for range 6 {
		ref := reg.PushRandomImage(t, "probe/img")
		jobs = append(jobs, oci.Job{Image: ref, Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, 1, ref)}}})
	}
	results, err := oci.AttachAll(context.Background(), jobs, oci.WithInsecure())
	var aae *oci.AttachAllError
	if !errors.As(err, &aae) || len(aae.Failed) != 1 {
		t.Fatalf("AttachAll: %v, want exactly the job whose referrers request was refused to fail", err)
	}
	// The refused probe, then the second probe's 404, which the other four
	// take as the batch's answer.
	if got := asked.Load(); got != 2 {
		t.Errorf("%d referrers requests, want 2 (a failed probe, then one that found no API)", got)
	}
	for _, r := range results {
		if r.Err != nil {
			continue
		}
		if n := len(list(t, jobs[r.Job].Image)); n != 1 {
			t.Errorf("job %d: %d attestations, want 1", r.Job, n)
		}
	}
}
