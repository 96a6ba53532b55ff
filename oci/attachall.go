package oci

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/slsakit/slsakit/sign"
)

// DefaultConcurrency is how many registry requests AttachAll, or a
// recursive Attach or Sign, has in flight at once (see WithConcurrency).
const DefaultConcurrency = 8

// imagesPerSlot is how many images may be in flight per request slot. An
// image of a registry without the referrers API spends most of its write
// waiting (settle before each read-back, backoff after a conflict), so
// several images share each slot; the bound keeps memory proportional to
// the concurrency asked for rather than to an index's size or the caller's
// job list.
const imagesPerSlot = 8

// WithConcurrency bounds the work AttachAll, and a recursive Attach or
// Sign, does against the registry: at most n HTTP requests in flight at
// once across all its images (default DefaultConcurrency). A slot is held
// for one request only: an image waiting (for its tag's writes to settle
// before reading them back, in a backoff, or for its per-image lock) holds
// none, so many images can be settling while at most n make requests. The
// images in flight are bounded too: at most 8·n jobs of AttachAll, and 8·n
// platform manifests of indexes, are being written at once, each holding
// little more than its tag's descriptors. Each image's writes stay
// serialized and read back.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
}

// batch is one AttachAll, or one recursive Attach or Sign called on its
// own: what the images it writes share.
//
//   - Its bound: request slots, held by an image only while a request is
//     in flight, and image slots, held by a platform manifest of an index
//     while it is written. A job of AttachAll holds no slot while waiting
//     for its platform manifests (they take image slots, jobs do not),
//     and no one waits for anything while holding a request slot, so the
//     two cannot deadlock.
//   - Its uploads (blobs): a release puts the same bytes in many images
//     of one repository (one provenance for an index and its platform
//     manifests, the empty config of every referrer), and a registry
//     spends more on a blob upload than on any other request, so each
//     blob is uploaded to a repository once per batch.
//   - Whether each registry has the referrers API (probes): the
//     distribution spec forbids a registry that has it to answer 404, so
//     once one image of a batch found none on a registry, the others go
//     straight to the referrers tag instead of asking again.
type batch struct {
	reqs   chan struct{}
	images chan struct{}

	blobs  flights[blobKey, struct{}]
	probes flights[string, bool] // by registry origin: the referrers API is missing
}

// blobKey names a blob in one repository of one registry.
type blobKey struct{ origin, repo, digest string }

func newBatch(n int) *batch {
	n = max(n, 1)
	return &batch{reqs: make(chan struct{}, n), images: make(chan struct{}, imagesPerSlot*n)}
}

// flights runs work once per key among the images of a batch: the first
// to ask runs it and the others wait for its result. Work that fails is
// forgotten, so that the next image waiting runs it again (and reports its
// own error): a failure is never taken as an answer.
type flights[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*flight[V]
}

// flight is one run of the work for a key; done is closed when v and err
// are set.
type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// do returns the result of fn for key, ran by this call (ran true) or by
// another of the batch. A waiter gets an error only from ctx.
func (f *flights[K, V]) do(ctx context.Context, key K, fn func() (V, error)) (v V, ran bool, err error) {
	for {
		f.mu.Lock()
		fl, ok := f.m[key]
		if !ok {
			fl = &flight[V]{done: make(chan struct{})}
			if f.m == nil {
				f.m = map[K]*flight[V]{}
			}
			f.m[key] = fl
			f.mu.Unlock()
			fl.v, fl.err = fn()
			if fl.err != nil {
				f.mu.Lock()
				delete(f.m, key)
				f.mu.Unlock()
			}
			close(fl.done)
			return fl.v, true, fl.err
		}
		f.mu.Unlock()
		select {
		case <-fl.done:
		case <-ctx.Done():
			return v, false, ctx.Err()
		}
		if fl.err == nil {
			return fl.v, false, nil
		}
	}
}

// upload runs up, the upload of the blob k, unless the batch has uploaded
// it already or is uploading it (then it waits for that upload). A nil
// batch (a single-image call) runs up.
func (b *batch) upload(ctx context.Context, k blobKey, up func() error) error {
	if b == nil {
		return up()
	}
	_, _, err := b.blobs.do(ctx, k, func() (struct{}, error) { return struct{}{}, up() })
	return err
}

// probeReferrers runs ask, a referrers request to the registry at origin
// that reports whether the registry lacks the API, unless another image
// of the batch has asked that registry (then it waits for that answer).
// It returns ran false and missing true when the registry was found
// without the API: the caller goes to the referrers tag without asking.
// A nil batch (a single-image call) runs ask.
func (b *batch) probeReferrers(ctx context.Context, origin string, ask func() (missing bool, err error)) (missing, ran bool, err error) {
	if b == nil {
		missing, err = ask()
		return missing, true, err
	}
	return b.probes.do(ctx, origin, ask)
}

// request takes a request slot, honouring ctx, and returns its release. A
// nil batch (a single-image call) does not bound anything.
func (b *batch) request(ctx context.Context) (func(), error) {
	if b == nil {
		return func() {}, nil
	}
	select {
	case b.reqs <- struct{}{}:
		return func() { <-b.reqs }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// each runs f(0..n-1), the images of one index, at most cap(b.images) of
// the batch's images at once, and returns when all have returned. Every f
// runs, even once ctx is done (then without waiting for a slot), so that
// each image reports its own error.
func (b *batch) each(ctx context.Context, n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		held := false
		select {
		case b.images <- struct{}{}:
			held = true
		case <-ctx.Done():
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if held {
				defer func() { <-b.images }()
			}
			f(i)
		}()
	}
	wg.Wait()
}

// Job is one image of a release and what to attach to it.
type Job struct {
	// Image is the image reference; a tag is resolved once, by Attach.
	Image string
	// Attestations are attached in order, each by Attach.
	Attestations []*sign.Attestation
	// Signer, when set, also signs the image with Sign after the
	// attestations are attached (with the job's options: WithRecursive
	// signs an index's platform manifests too), so one AttachAll writes a
	// release's attestations and image signatures.
	Signer sign.Signer
	// Options are added after AttachAll's own for this job (for example
	// WithRecursive for an index, or WithPlatform).
	Options []Option
}

// JobResult is what AttachAll did for one job.
type JobResult struct {
	Job      int             // index in the jobs given
	Attached []*AttachResult // one per attestation attached, in order
	Signed   *SignResult     // what Sign wrote, for a job with a Signer
	Err      error           // nil, or why the job stopped (also in the AttachAllError)
	Requests int             // HTTP requests of the job
}

// JobError is one failed job of AttachAll. It unwraps to the failure, so
// errors.Is(err, ErrConflict) and the like see through it.
type JobError struct {
	Job   int
	Image string
	Err   error
}

func (e *JobError) Error() string { return "oci: " + e.Image + ": " + e.Err.Error() }

func (e *JobError) Unwrap() error { return e.Err }

// AttachAllError reports every job of AttachAll that failed, in job
// order. errors.Is and errors.As see every job's error through it.
type AttachAllError struct {
	Failed []*JobError
	Jobs   int // how many jobs were run
}

func (e *AttachAllError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oci: %d of %d jobs failed", len(e.Failed), e.Jobs)
	for _, f := range e.Failed {
		b.WriteString("\n  ")
		b.WriteString(f.Error())
	}
	return b.String()
}

func (e *AttachAllError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// AttachAll attaches (and signs) a whole release: each job's attestations
// to its image, with Attach, then the job's Signer's signature, with Sign
// (every check, lock and read-back of Attach applies). The release shares
// one WithConcurrency bound: at most n requests in flight across every job
// and every platform manifest of a recursive job, each of which is written
// concurrently with the others rather than one after the other. A failed
// job does not stop the others: AttachAll runs every job and returns one
// result per job and, if any failed, an *AttachAllError listing each
// failure. Within a job an attestation that fails stops that job's later
// ones (they would target the same images). Only the caller's context
// stops the run; jobs not started then fail with its error.
func AttachAll(ctx context.Context, jobs []Job, opts ...Option) ([]*JobResult, error) {
	o := makeOptions(opts)
	b := newBatch(o.concurrency)
	results := make([]*JobResult, len(jobs))
	// Jobs take no request slot of their own, only their requests do.
	sem := make(chan struct{}, cap(b.images))
	var wg sync.WaitGroup
	for i := range jobs {
		results[i] = &JobResult{Job: i}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(r *JobResult, j Job) {
			defer wg.Done()
			defer func() { <-sem }()
			jopts := append(opts[:len(opts):len(opts)], j.Options...)
			jopts = append(jopts, func(o *options) { o.batch = b })
			if len(j.Attestations) == 0 && j.Signer == nil {
				r.Err = fmt.Errorf("%w: job without attestations or signer", ErrInvalidArgument)
			}
			for _, a := range j.Attestations {
				res, err := Attach(ctx, j.Image, a, jopts...)
				if res != nil {
					r.Requests += res.Requests
				}
				if err != nil {
					r.Err = err
					return
				}
				r.Attached = append(r.Attached, res)
			}
			if j.Signer != nil && r.Err == nil {
				res, err := Sign(ctx, j.Image, j.Signer, jopts...)
				if res != nil {
					r.Requests += res.Requests
				}
				r.Signed, r.Err = res, err
			}
		}(results[i], jobs[i])
	}
	wg.Wait()
	var failed []*JobError
	for i, r := range results {
		if r.Err != nil {
			failed = append(failed, &JobError{Job: i, Image: jobs[i].Image, Err: r.Err})
		}
	}
	if len(failed) > 0 {
		return results, &AttachAllError{Failed: failed, Jobs: len(jobs)}
	}
	return results, nil
}
