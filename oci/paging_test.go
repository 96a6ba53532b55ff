package oci_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// pager serves the registry's referrers lists in pages: the page given
// by the "page" query parameter, size descriptors long, from all
// descriptors (the registry's own list, or made up by fake). link makes
// the Link header of a page that has a next one ("" for none).
type pager struct {
	size  int
	link  func(r *http.Request, next int) string
	fake  func(page int) []v1.Descriptor // instead of the registry's list
	calls atomic.Int64                   // referrers requests served
}

func (p *pager) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/referrers/") {
			h.ServeHTTP(w, r)
			return
		}
		p.calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var all []v1.Descriptor
		if p.fake != nil {
			all = p.fake(page)
			page = 0
		} else {
			rec := httptest.NewRecorder()
			inner := r.Clone(r.Context())
			inner.URL.RawQuery = ""
			h.ServeHTTP(rec, inner)
			var idx v1.IndexManifest
			if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// A stable order, so that pages do not overlap (the registry
			// lists from a map).
			all = idx.Manifests
			sort.Slice(all, func(i, j int) bool { return all[i].Digest.Hex < all[j].Digest.Hex })
		}
		lo, hi := min(page*p.size, len(all)), min((page+1)*p.size, len(all))
		if p.fake != nil || hi < len(all) {
			if l := p.link(r, page+1); l != "" {
				w.Header().Add("Link", l)
			}
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		json.NewEncoder(w).Encode(v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: append([]v1.Descriptor{}, all[lo:hi]...)})
	})
}

// hostRecorder records the hosts requests are sent to.
type hostRecorder struct {
	hosts atomic.Value // map[string]bool, copied on write
}

func (h *hostRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	m, _ := h.hosts.Load().(map[string]bool)
	n := map[string]bool{req.URL.Host: true}
	for k := range m {
		n[k] = true
	}
	h.hosts.Store(n)
	return http.DefaultTransport.RoundTrip(req)
}

// TestReferrersPaged: a referrers list the registry pages with Link
// headers is read whole, whatever form the Link takes, by List and by
// Attach (which finds an envelope already attached on a later page).
func TestReferrersPaged(t *testing.T) {
	rel := func(r *http.Request, next int) string {
		return fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, next)
	}
	for name, link := range map[string]func(*http.Request, int) string{
		"relative path": rel,
		"absolute URL": func(r *http.Request, n int) string {
			return fmt.Sprintf(`<http://%s%s?page=%d>; rel="next"`, r.Host, r.URL.Path, n)
		},
		"query only": func(r *http.Request, n int) string { return fmt.Sprintf(`<?page=%d>; rel=next`, n) },
		"prev and next": func(r *http.Request, n int) string {
			return fmt.Sprintf(`<%s?page=0>; rel="prev first", <%s?page=%d>; title="a, b; c"; rel="next"`, r.URL.Path, r.URL.Path, n)
		},
		"rel list":         func(r *http.Request, n int) string { return fmt.Sprintf(`<%s?page=%d>;rel="last next"`, r.URL.Path, n) },
		"rel in uppercase": func(r *http.Request, n int) string { return fmt.Sprintf(`<%s?page=%d>; REL="Next"`, r.URL.Path, n) },
		"with fragment":    func(r *http.Request, n int) string { return fmt.Sprintf(`<%s?page=%d#x>; rel="next"`, r.URL.Path, n) },
	} {
		t.Run(name, func(t *testing.T) {
			const n, size = 7, 2
			p := &pager{size: size, link: link}
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(p.wrap))
			image := reg.PushRandomImage(t, "app")
			for i := range n {
				attach(t, image, envelope(t, image, slsaV1, i))
			}
			p.calls.Store(0)
			if atts := list(t, image, oci.WithLayout(oci.Referrers)); len(atts) != n {
				t.Fatalf("List: %d attestations, want %d", len(atts), n)
			}
			if got, want := p.calls.Load(), int64((n+size-1)/size); got != want {
				t.Errorf("%d referrers requests, want %d (one a page)", got, want)
			}
			// The first attestation is on the last page: attaching it again
			// writes nothing.
			ct := ocitest.NewCountingTransport(nil)
			attach(t, image, envelope(t, image, slsaV1, 0), oci.WithTransport(ct))
			if m := ct.ByMethod(); m["PUT"]+m["POST"] != 0 {
				t.Errorf("re-attach of an envelope listed on a later page wrote: %v", m)
			}
		})
	}
}

// TestReferrersPagingBounded: a registry cannot make a client follow Links
// off the registry, in a loop, or without end.
func TestReferrersPagingBounded(t *testing.T) {
	// fakeDescs are n distinct descriptors, made up, padded to pad bytes of
	// annotation each.
	fakeDescs := func(page, n, pad int) []v1.Descriptor {
		out := make([]v1.Descriptor, n)
		for i := range out {
			h := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", page*1_000_000+i)}
			out[i] = v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: h, Size: 1,
				ArtifactType: "application/example", Annotations: map[string]string{"pad": strings.Repeat("x", pad)}}
		}
		return out
	}
	self := func(r *http.Request, _ int) string { return fmt.Sprintf(`<%s>; rel="next"`, r.URL.RequestURI()) }
	for _, tc := range []struct {
		name      string
		p         *pager
		want      error
		wantCalls int64
	}{
		{"Link to another host", &pager{size: 1, link: func(r *http.Request, n int) string {
			return fmt.Sprintf(`<http://attacker.example%s?page=%d>; rel="next"`, r.URL.Path, n)
		}}, oci.ErrInvalidManifest, 1},
		{"Link to HTTPS on the same host", &pager{size: 1, link: func(r *http.Request, n int) string {
			return fmt.Sprintf(`<https://%s%s?page=%d>; rel="next"`, r.Host, r.URL.Path, n)
		}}, oci.ErrInvalidManifest, 1},
		{"Link with credentials", &pager{size: 1, link: func(r *http.Request, n int) string {
			return fmt.Sprintf(`<http://user:pw@%s%s?page=%d>; rel="next"`, r.Host, r.URL.Path, n)
		}}, oci.ErrInvalidManifest, 1},
		{"Link off the API", &pager{size: 1, link: func(r *http.Request, n int) string { return `</token?page=2>; rel="next"` }}, oci.ErrInvalidManifest, 1},
		{"network-path Link", &pager{size: 1, link: func(r *http.Request, n int) string { return `<//attacker.example/v2/x>; rel="next"` }}, oci.ErrInvalidManifest, 1},
		{"two next Links", &pager{size: 1, link: func(r *http.Request, n int) string {
			return fmt.Sprintf(`<%s?page=%d>; rel="next", <%s?page=%d>; rel="next"`, r.URL.Path, n, r.URL.Path, n+1)
		}}, oci.ErrInvalidManifest, 1},
		{"unparseable Link", &pager{size: 1, link: func(*http.Request, int) string { return `page=2; rel="next"` }}, oci.ErrInvalidManifest, 1},
		{"unterminated Link", &pager{size: 1, link: func(r *http.Request, n int) string { return fmt.Sprintf(`<%s?page=%d`, r.URL.Path, n) }}, oci.ErrInvalidManifest, 1},
		{"Link to itself", &pager{size: 1, link: self, fake: func(int) []v1.Descriptor { return nil }}, oci.ErrTooMany, 1},
		{"Link back to the first page", &pager{size: 1, link: func(r *http.Request, _ int) string {
			if r.URL.RawQuery == "" {
				return fmt.Sprintf(`<%s?page=1>; rel="next"`, r.URL.Path)
			}
			return fmt.Sprintf(`<%s>; rel="next"`, r.URL.Path)
		}, fake: func(int) []v1.Descriptor { return nil }}, oci.ErrTooMany, 2},
		{"endless empty pages", &pager{size: 1, link: func(r *http.Request, _ int) string {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			return fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, page+1)
		}, fake: func(int) []v1.Descriptor { return nil }}, oci.ErrTooMany, 64},
		{"too many descriptors", &pager{size: 4000, link: func(r *http.Request, _ int) string {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			return fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, page+1)
		}, fake: func(page int) []v1.Descriptor { return fakeDescs(page, 4000, 0) }}, oci.ErrTooMany, 3},
		{"too many bytes", &pager{size: 1000, link: func(r *http.Request, _ int) string {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			return fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, page+1)
		}, fake: func(page int) []v1.Descriptor { return fakeDescs(page, 1000, 1500) }}, oci.ErrTooLarge, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(tc.p.wrap))
			image := reg.PushRandomImage(t, "app")
			if tc.p.fake == nil {
				// Two referrers, so that the first page has a next one.
				attach(t, image, envelope(t, image, slsaV1, 1))
				attach(t, image, envelope(t, image, slsaV1, 2))
			}
			tc.p.calls.Store(0)
			hosts := &hostRecorder{}
			_, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(oci.Referrers), oci.WithTransport(hosts))
			if !errors.Is(err, tc.want) {
				t.Fatalf("List: err = %v, want %v", err, tc.want)
			}
			if got := tc.p.calls.Load(); got != tc.wantCalls {
				t.Errorf("%d referrers requests, want %d", got, tc.wantCalls)
			}
			if m, _ := hosts.hosts.Load().(map[string]bool); len(m) != 1 || !m[reg.Host()] {
				t.Errorf("requests went to %v, want only %s", m, reg.Host())
			}
			// Attach reads the same list, and fails the same way, before
			// writing.
			ct := ocitest.NewCountingTransport(nil)
			_, err = oci.Attach(context.Background(), image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 3)}, oci.WithInsecure(), oci.WithTransport(ct))
			if !errors.Is(err, tc.want) {
				t.Errorf("Attach: err = %v, want %v", err, tc.want)
			}
			if m := ct.ByMethod(); m["PUT"]+m["POST"] != 0 {
				t.Errorf("Attach wrote after a bad referrers list: %v", m)
			}
		})
	}
}
