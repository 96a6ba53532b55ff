package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
)

// putManifest uploads a manifest and returns the response headers.
func (c *client) putManifest(ctx context.Context, repo name.Repository, ref, mediaType string, body []byte) (http.Header, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPut, url: c.url(repo, "/manifests/"+ref), repo: repo, push: true,
		body: body, header: http.Header{"Content-Type": {mediaType}},
		ok: []int{http.StatusCreated, http.StatusOK, http.StatusAccepted},
	})
	if err != nil {
		return nil, err
	}
	return resp.header, nil
}

// maxPostBody is the largest blob sent with a single-POST upload.
const maxPostBody = 256 << 10

// uploadBlob uploads body with a single monolithic POST when the registry
// supports it (1 request), else POST then PUT (2 requests). With mount, the
// POST also asks to mount the blob from the same repository, which
// registries that keep it answer with 201 and no upload. Within a batch
// (AttachAll, a recursive call) a blob is uploaded to a repository once:
// the images that need it again wait for that upload instead.
func (c *client) uploadBlob(ctx context.Context, repo name.Repository, digest string, body []byte, mount bool) error {
	k := blobKey{origin: c.origin(repo), repo: repo.RepositoryStr(), digest: digest}
	return c.o.batch.upload(ctx, k, func() error { return c.uploadBlobRetrying(ctx, repo, digest, body, mount) })
}

// uploadBlobRetrying is one upload of a blob, started over (at most three
// times) when an upload session fails.
func (c *client) uploadBlobRetrying(ctx context.Context, repo name.Repository, digest string, body []byte, mount bool) error {
	var err error
	for i := 0; i < 3; i++ {
		var sessionErr bool
		sessionErr, err = c.uploadBlobOnce(ctx, repo, digest, body, mount)
		if mount && errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			// The spec has a registry that cannot mount answer 202 and
			// start an upload; cue-labs' ociserver answers 404
			// BLOB_UNKNOWN instead. Upload without asking to mount.
			mount = false
			sessionErr, err = c.uploadBlobOnce(ctx, repo, digest, body, false)
		}
		if err == nil || !sessionErr || ctx.Err() != nil {
			return err
		}
		// The upload session failed (perhaps after the registry stored the
		// blob and the response was lost): check, then start over.
		if ok, herr := c.blobExists(ctx, repo, digest); herr == nil && ok {
			return nil
		}
	}
	return err
}

func (c *client) blobExists(ctx context.Context, repo name.Repository, digest string) (bool, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead, url: c.url(repo, "/blobs/"+digest), repo: repo,
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	return resp.status == http.StatusOK, nil
}

func (c *client) uploadBlobOnce(ctx context.Context, repo name.Repository, digest string, body []byte, mount bool) (sessionErr bool, err error) {
	q := url.Values{}
	// Registries that ignore the digest parameter (distribution) answer 202
	// and drop the body, so only small blobs ride on the POST.
	var postBody []byte
	if len(body) <= maxPostBody {
		q.Set("digest", digest)
		postBody = body
	}
	if mount {
		q.Set("mount", digest)
		q.Set("from", repo.RepositoryStr())
	}
	resp, err := c.do(ctx, request{
		method: http.MethodPost, url: c.url(repo, "/blobs/uploads/?"+q.Encode()), repo: repo, push: true,
		body: postBody, header: http.Header{"Content-Type": {"application/octet-stream"}},
		ok: []int{http.StatusCreated, http.StatusAccepted},
	})
	if err != nil {
		return false, err
	}
	if resp.status == http.StatusCreated {
		return false, nil
	}
	loc := resp.header.Get("Location")
	if loc == "" {
		return false, fmt.Errorf("%w: blob upload to %s: 202 without Location", ErrInvalidManifest, repo)
	}
	u, err := resp.url.Parse(loc)
	if err != nil {
		return false, fmt.Errorf("%w: blob upload Location %q: %v", ErrInvalidManifest, loc, err)
	}
	if u.Scheme == "http" && !c.o.insecure {
		return false, fmt.Errorf("oci: blob upload Location %q is plain HTTP", loc)
	}
	uq := u.Query()
	uq.Set("digest", digest)
	u.RawQuery = uq.Encode()
	_, err = c.do(ctx, request{
		method: http.MethodPut, url: u.String(), repo: repo, push: true,
		body: body, header: http.Header{"Content-Type": {"application/octet-stream"}},
		ok: []int{http.StatusCreated, http.StatusNoContent, http.StatusOK},
	})
	return err != nil, err
}
