package oci

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsakit/slsakit/sign"
)

// Attestation is one attestation found on an image: the sign.Attestation
// (its envelope, and its Sigstore bundle when it was found as a referrer;
// an attestation in both layouts is reported once, with the bundle), and
// where it was found.
type Attestation struct {
	sign.Attestation
	PredicateType string        // from the statement payload ("" if not an in-toto statement)
	Layout        Layout        // where it was found (Both if in both layouts)
	Descriptor    v1.Descriptor // layer (legacy) or referrer manifest descriptor
}

// List returns every attestation of the image (with WithPlatform, of that
// platform's manifest in the index ref names) from both layouts (or those
// chosen with WithLayout), deduplicated by envelope content, filtered by
// predicate type when asked. Annotations are used only to skip downloads;
// the predicate type reported and filtered on is read from the payload.
// Entries that are not DSSE attestations (other artifacts, message
// signatures, unparseable bundles) are skipped; digest mismatches and
// oversize objects are errors. Nothing is verified cryptographically:
// pass the result to a verifier.
func List(ctx context.Context, ref string, opts ...Option) ([]Attestation, error) {
	o, tg, err := readTarget(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	l := &lister{c: tg.c, repo: tg.repo, subj: tg.subj.Digest, byKey: map[string]int{}}
	if o.layout&Referrers != 0 {
		if err := l.referrers(ctx); err != nil {
			return nil, err
		}
	}
	if o.layout&Legacy != 0 {
		if err := l.legacy(ctx); err != nil {
			return nil, err
		}
	}
	return l.out, nil
}

// Fetch returns List's attestations as the sign.Attestations verifiers
// take.
func Fetch(ctx context.Context, ref string, opts ...Option) ([]*sign.Attestation, error) {
	list, err := List(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	atts := make([]*sign.Attestation, len(list))
	for i := range list {
		atts[i] = &list[i].Attestation
	}
	return atts, nil
}

type lister struct {
	c     *client
	repo  name.Repository
	subj  v1.Hash
	out   []Attestation
	byKey map[string]int
}

func (l *lister) add(a Attestation) {
	k := envelopeKey(a.Envelope)
	if i, ok := l.byKey[k]; ok {
		l.out[i].Layout |= a.Layout
		return
	}
	l.byKey[k] = len(l.out)
	l.out = append(l.out, a)
}

func (l *lister) wantType(annotated string) bool {
	return l.c.o.predicateType == "" || annotated == "" || annotated == l.c.o.predicateType
}

func (l *lister) referrers(ctx context.Context) error {
	idx, ok, err := l.c.referrers(ctx, l.repo, l.subj.String())
	if err != nil {
		return err
	}
	if !ok {
		if idx, err = l.c.getIndex(ctx, l.repo, fallbackTag(l.subj)); err != nil {
			return err
		}
	}
	if idx == nil {
		return nil
	}
	var cands []v1.Descriptor
	for _, d := range idx.Manifests {
		if !attestationReferrer(d) || !l.wantType(d.Annotations[AnnotationBundlePredicateType]) {
			continue
		}
		if d.Size > l.c.o.maxManifest {
			return fmt.Errorf("%w: referrer %s is %d bytes > limit %d", ErrTooLarge, d.Digest, d.Size, l.c.o.maxManifest)
		}
		cands = append(cands, d)
	}
	if err := l.c.checkCount(len(cands), "referrers of "+l.repo.Name()+"@"+l.subj.String()); err != nil {
		return err
	}
	found, err := parallel(ctx, len(cands), func(ctx context.Context, i int) (*Attestation, error) {
		return l.fetchReferrer(ctx, cands[i])
	})
	if err != nil {
		return err
	}
	for _, a := range found {
		if a != nil {
			l.add(*a)
		}
	}
	return nil
}

// attestationReferrer reports whether d, a referrers list entry, may be
// an attestation: its artifact type and bundle content annotation do not
// rule it out. List downloads these; Attach counts them.
func attestationReferrer(d v1.Descriptor) bool {
	at := string(d.ArtifactType)
	if at != "" && at != MediaTypeEmpty && !strings.HasPrefix(at, mtBundlePfx) {
		return false // another kind of artifact
	}
	c := d.Annotations[AnnotationBundleContent]
	return c == "" || c == "dsse-envelope" // else a message signature
}

// checkCount refuses n attestations of one layout beyond
// WithMaxAttestations, before any of them is downloaded (List) or one is
// added (Attach).
func (c *client) checkCount(n int, where string) error {
	if n > c.o.maxAttestations {
		return fmt.Errorf("%w: %s: %d attestations, limit %d", ErrTooMany, where, n, c.o.maxAttestations)
	}
	return nil
}

// fetchReferrer downloads one referrer; nil if it is not an attestation
// about this image, or no longer exists: registries (distribution v3.1.2
// among them) and fallback tag indexes keep listing deleted referrers, and
// one stale entry must not hide every other attestation.
func (l *lister) fetchReferrer(ctx context.Context, d v1.Descriptor) (*Attestation, error) {
	m, err := l.c.getManifestOf(ctx, l.repo, d)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oci: referrer %s: %w", d.Digest, err)
	}
	var man v1.Manifest
	if err := decodeManifest(m.body, &man); err != nil {
		return nil, nil
	}
	if man.Subject == nil || man.Subject.Digest != l.subj {
		return nil, nil // not about this image, whatever the index says
	}
	if len(man.Layers) != 1 || !strings.HasPrefix(string(man.Layers[0].MediaType), mtBundlePfx) {
		return nil, nil
	}
	ld := man.Layers[0]
	raw, err := l.c.getBlob(ctx, l.repo, ld, l.c.o.maxBlob)
	if err != nil {
		return nil, fmt.Errorf("oci: bundle of referrer %s: %w", d.Digest, err)
	}
	b, err := sign.ParseBundle(raw, sign.WithMaxSize(int(min(l.c.o.maxBlob, 1<<40))))
	if err != nil {
		if errors.Is(err, sign.ErrTooLarge) {
			return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return nil, nil
	}
	env := b.DSSEEnvelope
	if env == nil {
		return nil, nil // a message signature, not an attestation
	}
	pt := predicateTypeOf(env)
	if l.c.o.predicateType != "" && pt != l.c.o.predicateType {
		return nil, nil
	}
	desc := v1.Descriptor{
		MediaType: man.MediaType, Digest: d.Digest, Size: int64(len(m.body)),
		ArtifactType: d.ArtifactType, Annotations: man.Annotations,
	}
	if desc.MediaType == "" {
		desc.MediaType = mtOCIManifest
	}
	return &Attestation{Attestation: sign.Attestation{Envelope: env, Bundle: b}, PredicateType: pt, Layout: Referrers, Descriptor: desc}, nil
}

func (l *lister) legacy(ctx context.Context) error {
	man, err := l.c.getLegacy(ctx, l.repo, legacyTag(l.subj))
	if err != nil || man == nil {
		return err
	}
	var cands []v1.Descriptor
	for _, d := range man.Layers {
		if d.MediaType != MediaTypeDSSE {
			continue
		}
		if !l.wantType(d.Annotations[AnnotationPredicateType]) {
			continue
		}
		if d.Size > l.c.o.maxBlob {
			return fmt.Errorf("%w: attestation layer %s is %d bytes > limit %d", ErrTooLarge, d.Digest, d.Size, l.c.o.maxBlob)
		}
		cands = append(cands, d)
	}
	if err := l.c.checkCount(len(cands), l.repo.Name()+":"+legacyTag(l.subj)); err != nil {
		return err
	}
	found, err := parallel(ctx, len(cands), func(ctx context.Context, i int) (*Attestation, error) {
		d := cands[i]
		raw, err := l.c.getBlob(ctx, l.repo, d, l.c.o.maxBlob)
		if err != nil {
			return nil, fmt.Errorf("oci: attestation layer %s: %w", d.Digest, err)
		}
		env, err := sign.ParseEnvelope(raw, sign.WithMaxSize(int(min(l.c.o.maxBlob, 1<<40))))
		if err != nil {
			if errors.Is(err, sign.ErrTooLarge) {
				return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
			}
			return nil, nil
		}
		pt := predicateTypeOf(env)
		if l.c.o.predicateType != "" && pt != l.c.o.predicateType {
			return nil, nil
		}
		return &Attestation{Attestation: sign.Attestation{Envelope: env}, PredicateType: pt, Layout: Legacy, Descriptor: d}, nil
	})
	if err != nil {
		return err
	}
	for _, a := range found {
		if a != nil {
			l.add(*a)
		}
	}
	return nil
}

// maxParallel bounds concurrent downloads in List.
const maxParallel = 8

// parallel runs f for 0..n-1 with at most maxParallel at once and returns
// the results in order; the first error cancels the rest.
func parallel[T any](ctx context.Context, n int, f func(context.Context, int) (*T, error)) ([]*T, error) {
	out := make([]*T, n)
	if n == 0 {
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, maxParallel)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := f(ctx, i)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				return
			}
			out[i] = a
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readTarget is the start of every read (List, ListSignatures): the
// options, both layouts unless WithLayout says otherwise, and ref resolved.
func readTarget(ctx context.Context, ref string, opts []Option) (*options, *target, error) {
	o := makeOptions(opts)
	if !o.layoutSet {
		o.layout = Both
	}
	if err := checkLayout(o.layout); err != nil {
		return nil, nil, err
	}
	tg, err := resolveTarget(ctx, ref, o, false)
	if err != nil {
		return nil, nil, err
	}
	return o, tg, nil
}
