package oci

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/slsakit/slsakit/sign"
)

// DefaultConcurrency is how many jobs AttachAll runs at once, and how
// many images of an index a recursive Attach writes to at once.
const DefaultConcurrency = 8

// WithConcurrency sets how many jobs AttachAll runs at once, and how many
// images (the index and its platform manifests) a recursive Attach writes
// to at once (default DefaultConcurrency). Within AttachAll a recursive
// job writes its images one after the other, so at most n requests are
// in flight. Each image's writes stay serialized.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
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
// to its image, with Attach, then the job's Signer's signature, with Sign (every check, lock and read-back of Attach applies),
// at most WithConcurrency jobs at once. A failed job does not stop the
// others: AttachAll runs every job and returns one result per job and,
// if any failed, an *AttachAllError listing each failure. Within a job an
// attestation that fails stops that job's later ones (they would target
// the same image). Only the caller's context stops the run; jobs not
// started then fail with its error.
func AttachAll(ctx context.Context, jobs []Job, opts ...Option) ([]*JobResult, error) {
	o := makeOptions(opts)
	results := make([]*JobResult, len(jobs))
	sem := make(chan struct{}, o.concurrency)
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
			jopts = append(jopts, func(o *options) { o.inAttachAll = true })
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
