package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/internal/strictjson"
)

func fallbackTag(h v1.Hash) string { return h.Algorithm + "-" + h.Hex }

func legacyTag(h v1.Hash) string { return h.Algorithm + "-" + h.Hex + ".att" }

func parseIndex(b []byte) (*v1.IndexManifest, error) {
	var idx v1.IndexManifest
	if err := decodeManifest(b, &idx); err != nil {
		return nil, fmt.Errorf("%w: index: %v", ErrInvalidManifest, err)
	}
	return &idx, nil
}

// getIndex fetches an image index by tag; a missing tag is (nil, nil).
func (c *client) getIndex(ctx context.Context, repo name.Repository, tag string) (*v1.IndexManifest, error) {
	m, err := c.getManifest(ctx, repo, tag, true)
	if err != nil || m == nil {
		return nil, err
	}
	idx, err := parseIndex(m.body)
	if err != nil {
		return nil, err
	}
	if idx.MediaType != "" && idx.MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("%w: tag %s:%s is %s, not an OCI index", ErrInvalidManifest, repo, tag, idx.MediaType)
	}
	return idx, nil
}

func (c *client) getLegacy(ctx context.Context, repo name.Repository, tag string) (*v1.Manifest, error) {
	m, err := c.getManifest(ctx, repo, tag, true)
	if err != nil || m == nil {
		return nil, err
	}
	var man v1.Manifest
	if err := decodeManifest(m.body, &man); err != nil {
		return nil, fmt.Errorf("%w: %s:%s: %v", ErrInvalidManifest, repo, tag, err)
	}
	if man.MediaType.IsIndex() {
		return nil, fmt.Errorf("%w: %s:%s is an index, not an attestation manifest", ErrInvalidManifest, repo, tag)
	}
	return &man, nil
}

// decodeManifest reads a manifest or index from a registry after
// strictjson.Check: the registry, other clients and this package then all
// see one subject and one set of layers, whatever JSON reader each uses.
func decodeManifest(b []byte, v any) error {
	if err := strictjson.Check(b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Media types accepted when fetching manifests.
var manifestAccept = strings.Join([]string{
	mtOCIManifest, mtOCIIndex,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

type manifestResp struct {
	body      []byte
	mediaType string
	digest    string
}

// getManifest fetches a manifest by tag or digest. A missing manifest is
// (nil, nil) when allowMissing.
func (c *client) getManifest(ctx context.Context, repo name.Repository, ref string, allowMissing bool) (*manifestResp, error) {
	return c.getManifestMax(ctx, repo, ref, allowMissing, c.o.maxManifest)
}

// getManifestOf fetches the manifest d names by digest, held to d's size
// as getBlob holds blobs: a registry cannot make us read more than the
// index it listed d in declared.
func (c *client) getManifestOf(ctx context.Context, repo name.Repository, d v1.Descriptor) (*manifestResp, error) {
	if d.Size <= 0 {
		return nil, fmt.Errorf("%w: manifest %s: descriptor size %d", ErrInvalidManifest, d.Digest, d.Size)
	}
	m, err := c.getManifestMax(ctx, repo, d.Digest.String(), false, min(d.Size, c.o.maxManifest))
	if errors.Is(err, ErrTooLarge) && d.Size <= c.o.maxManifest {
		return nil, fmt.Errorf("%w: manifest %s is longer than its descriptor's %d bytes: %w", ErrInvalidManifest, d.Digest, d.Size, err)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(m.body)) != d.Size {
		return nil, fmt.Errorf("%w: manifest %s is %d bytes, descriptor says %d", ErrInvalidManifest, d.Digest, len(m.body), d.Size)
	}
	return m, nil
}

func (c *client) getManifestMax(ctx context.Context, repo name.Repository, ref string, allowMissing bool, max int64) (*manifestResp, error) {
	ok := []int{http.StatusOK}
	if allowMissing {
		ok = append(ok, http.StatusNotFound)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet, url: c.url(repo, "/manifests/"+ref), repo: repo,
		header: http.Header{"Accept": {manifestAccept}}, ok: ok, maxBody: max,
	})
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound {
		return nil, nil
	}
	d := sha256Digest(resp.body)
	if strings.HasPrefix(ref, "sha256:") && ref != d {
		return nil, fmt.Errorf("%w: manifest %s@%s has digest %s", ErrInvalidManifest, repo, ref, d)
	}
	return &manifestResp{body: resp.body, mediaType: resp.header.Get("Content-Type"), digest: d}, nil
}

// headManifest returns the descriptor fields of ref.
func (c *client) headManifest(ctx context.Context, repo name.Repository, ref string) (mediaType, digest string, size int64, err error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead, url: c.url(repo, "/manifests/"+ref), repo: repo,
		header: http.Header{"Accept": {manifestAccept}}, ok: []int{http.StatusOK},
	})
	if err != nil {
		return "", "", 0, err
	}
	mediaType = resp.header.Get("Content-Type")
	digest = resp.header.Get("Docker-Content-Digest")
	size, _ = strconv.ParseInt(resp.header.Get("Content-Length"), 10, 64)
	if digest == "" || size <= 0 || mediaType == "" {
		// Some registries omit headers on HEAD: fall back to GET.
		m, err := c.getManifest(ctx, repo, ref, false)
		if err != nil {
			return "", "", 0, err
		}
		return m.mediaType, m.digest, int64(len(m.body)), nil
	}
	if _, err := parseDigest(digest); err != nil {
		return "", "", 0, fmt.Errorf("%w: registry returned digest %q", ErrInvalidManifest, digest)
	}
	if strings.HasPrefix(ref, "sha256:") && ref != digest {
		return "", "", 0, fmt.Errorf("%w: HEAD %s@%s returned digest %s", ErrInvalidManifest, repo, ref, digest)
	}
	return mediaType, digest, size, nil
}

// getBlob downloads the blob d names and holds it to d: the registry is
// asked for at most d.Size bytes (and never more than max), and what it
// sends must have d's size and digest. Reading up to max instead would let
// a registry or proxy make every List download max bytes per descriptor
// whatever the manifest's writer declared; a descriptor without a size or
// with a digest we cannot check names nothing we can hold it to.
func (c *client) getBlob(ctx context.Context, repo name.Repository, d v1.Descriptor, max int64) ([]byte, error) {
	digest := d.Digest.String()
	switch {
	case d.Size > max:
		return nil, fmt.Errorf("%w: blob %s is %d bytes > limit %d", ErrTooLarge, digest, d.Size, max)
	case d.Size <= 0:
		return nil, fmt.Errorf("%w: blob %s: descriptor size %d", ErrInvalidManifest, digest, d.Size)
	case d.Digest.Algorithm != "sha256":
		return nil, fmt.Errorf("%w: blob %s: unsupported digest algorithm", ErrInvalidManifest, digest)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet, url: c.url(repo, "/blobs/"+digest), repo: repo,
		ok: []int{http.StatusOK}, maxBody: d.Size,
	})
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: blob %s is longer than its descriptor's %d bytes: %w", ErrInvalidManifest, digest, d.Size, err)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(resp.body)) != d.Size {
		return nil, fmt.Errorf("%w: blob %s is %d bytes, descriptor says %d", ErrInvalidManifest, digest, len(resp.body), d.Size)
	}
	if got := sha256Digest(resp.body); got != digest {
		return nil, fmt.Errorf("%w: blob %s has digest %s", ErrInvalidManifest, digest, got)
	}
	return resp.body, nil
}

// referrers calls the referrers API and merges its pages. supported is
// false when the registry does not implement it (404 or other non-200
// status per the spec, or a body that is not an image index). A registry
// that cannot return every descriptor at once pages the list with a Link
// header (rel="next", RFC 8288; distribution spec, "Listing Referrers"):
// the pages are followed on the same scheme and host only (a request
// carries the registry's credentials), and bounded together by
// WithMaxReferrers' pages and descriptors and the manifest size cap for
// all pages (ErrTooMany, ErrTooLarge), so that no registry makes
// us read forever.
//
// Within a batch the first image to ask a registry is its probe: when it
// finds no API there (a 404, which the spec forbids from a registry that
// has it), the batch's other images go to the referrers tag without
// asking. A probe that fails decides nothing: the next image asks.
func (c *client) referrers(ctx context.Context, repo name.Repository, digest string) (idx *v1.IndexManifest, supported bool, err error) {
	missing, ran, err := c.o.batch.probeReferrers(ctx, c.origin(repo), func() (bool, error) {
		idx, supported, err = c.listReferrers(ctx, repo, digest)
		return err == nil && !supported, err
	})
	switch {
	case ran:
		return idx, supported, err
	case err != nil || missing:
		return nil, false, err
	}
	return c.listReferrers(ctx, repo, digest)
}

// listReferrers is one referrers request, its pages followed.
func (c *client) listReferrers(ctx context.Context, repo name.Repository, digest string) (idx *v1.IndexManifest, supported bool, err error) {
	first := c.url(repo, "/referrers/"+digest)
	base, err := url.Parse(first)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %q: %v", ErrInvalidReference, first, err)
	}
	seen := map[string]int{}
	inIdx := map[v1.Hash]bool{}
	var total int64
	for page, next := 0, first; next != ""; page++ {
		if page == c.o.maxPages {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d pages", ErrTooMany, repo, digest, c.o.maxPages)
		}
		seen[next] = page
		if total >= c.o.maxManifest {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d bytes", ErrTooLarge, repo, digest, c.o.maxManifest)
		}
		ok := []int{http.StatusOK}
		if page == 0 {
			ok = append(ok, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed)
		}
		resp, err := c.do(ctx, request{
			method: http.MethodGet, url: next, repo: repo,
			header: http.Header{"Accept": {mtOCIIndex}}, ok: ok,
			maxBody: c.o.maxManifest - total, // one cap for the whole list
		})
		if err != nil {
			return nil, false, err
		}
		ct := resp.header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(ct, mtOCIIndex) || resp.status != http.StatusOK {
			if page == 0 {
				// Some registries answer unknown paths with 200 HTML.
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("%w: referrers page %d of %s@%s is %q", ErrInvalidManifest, page+1, repo, digest, ct)
		}
		total += int64(len(resp.body))
		pi, err := parseIndex(resp.body)
		if err != nil {
			return nil, false, err
		}
		if idx == nil {
			idx = &v1.IndexManifest{SchemaVersion: pi.SchemaVersion, MediaType: pi.MediaType, Annotations: pi.Annotations}
		}
		for _, d := range pi.Manifests {
			// A list that changes while it is paged can repeat an entry.
			if !inIdx[d.Digest] {
				inIdx[d.Digest] = true
				idx.Manifests = append(idx.Manifests, d)
			}
		}
		if len(idx.Manifests) > c.o.maxReferrers {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d descriptors", ErrTooMany, repo, digest, c.o.maxReferrers)
		}
		if next, err = nextPage(resp, base); err != nil {
			return nil, false, fmt.Errorf("referrers of %s@%s: %w", repo, digest, err)
		}
		if p, loop := seen[next]; loop && next != "" {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: page %d links back to page %d", ErrTooMany, repo, digest, page+1, p+1)
		}
	}
	return idx, true, nil
}

// nextPage returns the absolute URL of the response's Link rel="next"
// target, "" if there is none. The target is resolved against the URL
// that answered and must stay on base's scheme and host, under /v2/.
func nextPage(resp *response, base *url.URL) (string, error) {
	var targets []string
	for _, v := range resp.header.Values("Link") {
		links, err := parseLinks(v)
		if err != nil {
			return "", fmt.Errorf("%w: Link header %q: %v", ErrInvalidManifest, v, err)
		}
		for _, l := range links {
			if l.next {
				targets = append(targets, l.target)
			}
		}
	}
	if len(targets) == 0 {
		return "", nil
	}
	var out string
	for _, t := range targets {
		u, err := resp.url.Parse(t)
		if err != nil {
			return "", fmt.Errorf("%w: Link target %q: %v", ErrInvalidManifest, t, err)
		}
		u.Fragment, u.RawFragment = "", ""
		switch {
		case u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) || u.User != nil:
			return "", fmt.Errorf("%w: Link target %q leaves %s://%s", ErrInvalidManifest, t, base.Scheme, base.Host)
		case !strings.HasPrefix(u.EscapedPath(), "/v2/"):
			return "", fmt.Errorf("%w: Link target %q is not a registry API path", ErrInvalidManifest, t)
		case out != "" && out != u.String():
			return "", fmt.Errorf("%w: two next pages: %q and %q", ErrInvalidManifest, out, u.String())
		}
		out = u.String()
	}
	return out, nil
}

// link is one link-value of a Link header.
type link struct {
	target string
	next   bool // rel includes "next"
}

// parseLinks parses a Link header value (RFC 8288, section 3):
// comma-separated `<URI-Reference> *( ";" param )`, param values tokens or
// quoted strings, in which commas and semicolons do not separate.
func parseLinks(v string) ([]link, error) {
	var out []link
	s := v
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		if s[0] == ',' { // empty list elements are allowed
			s = s[1:]
			continue
		}
		if s[0] != '<' {
			return nil, errors.New("link-value does not start with <")
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return nil, errors.New("unterminated <URI-Reference>")
		}
		l := link{target: strings.TrimSpace(s[1:end])}
		s = s[end+1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				return nil, fmt.Errorf("unexpected %q after a link parameter", s[0])
			}
			s = strings.TrimLeft(s[1:], " \t")
			i := strings.IndexAny(s, "=;,")
			if i < 0 {
				i = len(s)
			}
			name := strings.ToLower(strings.TrimSpace(s[:i]))
			s = s[i:]
			var val string
			if s != "" && s[0] == '=' {
				s = strings.TrimLeft(s[1:], " \t")
				if s != "" && s[0] == '"' {
					var b strings.Builder
					j := 1
					for ; j < len(s) && s[j] != '"'; j++ {
						if s[j] == '\\' && j+1 < len(s) {
							j++
						}
						b.WriteByte(s[j])
					}
					if j == len(s) {
						return nil, errors.New("unterminated quoted string")
					}
					val, s = b.String(), s[j+1:]
				} else {
					k := strings.IndexAny(s, ";,")
					if k < 0 {
						k = len(s)
					}
					val, s = strings.TrimSpace(s[:k]), s[k:]
				}
			}
			if name == "rel" {
				for _, r := range strings.Fields(val) {
					l.next = l.next || strings.EqualFold(r, "next")
				}
			}
		}
		out = append(out, l)
	}
}
