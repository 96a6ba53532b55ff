package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

func testEnv(i int) *sign.Envelope {
	p, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]int{"n": i}})
	return &sign.Envelope{PayloadType: sign.PayloadTypeInToto, Payload: p, Signatures: []sign.Signature{{KeyID: "k", Sig: []byte(fmt.Sprint("sig", i))}}}
}

func setup(t *testing.T, opts ...ocitest.Option) (name.Repository, v1.Descriptor, *options) {
	reg := ocitest.NewRegistry(t, opts...)
	image := reg.PushRandomImage(t, "app")
	o := makeOptions([]Option{WithInsecure()})
	r, err := parseRef(image, o)
	if err != nil {
		t.Fatal(err)
	}
	subj, err := subject(context.Background(), newClient(o), r, true)
	if err != nil {
		t.Fatal(err)
	}
	return r.Context(), subj, o
}

// Writers that do not share the in-process lock (as separate processes)
// still all survive: the read-back detects overwrites and re-merges.
func TestCrossProcessWritersWithoutLock(t *testing.T) {
	for _, impl := range ocitest.Impls() {
		t.Run(string(impl), func(t *testing.T) { testCrossProcessWritersWithoutLock(t, ocitest.WithImpl(impl)) })
	}
}

func testCrossProcessWritersWithoutLock(t *testing.T, impl ocitest.Option) {
	for _, tc := range []struct {
		name   string
		legacy bool
		refOn  bool
	}{{"legacy", true, true}, {"fallback-tag", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			repo, subj, o := setup(t, impl, ocitest.WithReferrers(tc.refOn))
			const n = 12 // every writer conflicts with every other: the work is quadratic
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					oo := *o
					oo.conflictRetries = 50
					c := newClient(&oo)
					var err error
					if tc.legacy {
						_, err = attachLegacy(context.Background(), c, repo, subj.Digest, prepared(t, testEnv(i), o))
					} else {
						_, err = attachReferrer(context.Background(), c, repo, subj, prepared(t, testEnv(i), o))
					}
					errs <- err
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			c := newClient(o)
			if tc.legacy {
				m, err := c.getLegacy(context.Background(), repo, legacyTag(subj.Digest))
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Layers) != n {
					t.Errorf("%d layers survived, want %d", len(m.Layers), n)
				}
			} else {
				idx, err := c.getIndex(context.Background(), repo, fallbackTag(subj.Digest))
				if err != nil {
					t.Fatal(err)
				}
				if len(idx.Manifests) != n {
					t.Errorf("%d referrers survived, want %d", len(idx.Manifests), n)
				}
			}
		})
	}
}

// A write that a stale concurrent writer undoes is detected by the
// read-back and redone.
func TestReadBackDetectsLostUpdate(t *testing.T) {
	for _, tc := range []struct {
		name, suffix string
		legacy       bool
	}{{"legacy", ".att", true}, {"fallback-tag", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var puts, dropped atomic.Int32
			drop := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") &&
						strings.HasSuffix(r.URL.Path, tc.suffix) && (tc.suffix != "" || !strings.HasSuffix(r.URL.Path, ".att")) {
						if puts.Add(1) == 1 {
							// Pretend success; the tag keeps its old content,
							// as if a stale writer overwrote ours.
							dropped.Add(1)
							w.WriteHeader(http.StatusCreated)
							return
						}
					}
					h.ServeHTTP(w, r)
				})
			}
			repo, subj, o := setup(t, ocitest.WithReferrers(false), ocitest.WithHandler(drop))
			c := newClient(o)
			var err error
			if tc.legacy {
				_, err = attachLegacy(context.Background(), c, repo, subj.Digest, prepared(t, testEnv(1), o))
			} else {
				_, err = attachReferrer(context.Background(), c, repo, subj, prepared(t, testEnv(1), o))
			}
			if err != nil {
				t.Fatal(err)
			}
			if dropped.Load() != 1 || puts.Load() != 2 {
				t.Fatalf("dropped %d, puts %d: want 1 dropped write redone", dropped.Load(), puts.Load())
			}
			if tc.legacy {
				m, err := c.getLegacy(context.Background(), repo, legacyTag(subj.Digest))
				if err != nil || m == nil || len(m.Layers) != 1 {
					t.Fatalf("after retry: %+v, %v", m, err)
				}
			} else {
				idx, err := c.getIndex(context.Background(), repo, fallbackTag(subj.Digest))
				if err != nil || idx == nil || len(idx.Manifests) != 1 {
					t.Fatalf("after retry: %+v, %v", idx, err)
				}
			}
		})
	}
}

// A registry that always loses our write ends in ErrConflict, not a hang
// or a false success.
func TestConflictExhausted(t *testing.T) {
	swallow := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".att") {
				w.WriteHeader(http.StatusCreated)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	repo, subj, o := setup(t, ocitest.WithHandler(swallow))
	o.conflictRetries = 3
	_, err := attachLegacy(context.Background(), newClient(o), repo, subj.Digest, prepared(t, testEnv(1), o))
	if err == nil || !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func TestParseChallenge(t *testing.T) {
	s, p := parseChallenge(`Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"`)
	if s != "Bearer" || p["realm"] != "https://auth.example.com/token" || p["service"] != "registry.example.com" || p["scope"] != "repository:a/b:pull,push" {
		t.Errorf("got %q %v", s, p)
	}
	s, p = parseChallenge(`Basic realm="x"`)
	if s != "Basic" || p["realm"] != "x" {
		t.Errorf("got %q %v", s, p)
	}
}

func TestLegacyImageMatchesMutate(t *testing.T) {
	env := testEnv(1)
	b, _ := envelopeJSON(env)
	h, _ := v1.NewHash(sha256Digest(b))
	m, cfg, err := legacyImage([]v1.Descriptor{{MediaType: MediaTypeDSSE, Digest: h, Size: int64(len(b)), Annotations: map[string]string{AnnotationSignature: ""}}}, map[string]string{"keep": "me"})
	if err != nil {
		t.Fatal(err)
	}
	var man v1.Manifest
	if err := json.Unmarshal(m, &man); err != nil {
		t.Fatal(err)
	}
	if man.Config.Digest.String() != sha256Digest(cfg) || len(man.Layers) != 1 || man.Layers[0].Digest != h {
		t.Errorf("manifest %s config %s", m, cfg)
	}
	if man.Annotations["keep"] != "me" {
		t.Errorf("manifest annotations dropped: %s", m)
	}
	if !strings.Contains(string(cfg), h.String()) {
		t.Errorf("config lacks diff id: %s", cfg)
	}
}

// prepared is what Attach writes for env in both layouts.
func prepared(t *testing.T, env *sign.Envelope, o *options) *written {
	t.Helper()
	oo := *o
	oo.layout = Both
	w, err := prepare(&sign.Attestation{Envelope: env}, &oo)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
