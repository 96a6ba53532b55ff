package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slsakit/slsakit/sign"
)

// Default limits of a Budget. An honest dependency graph (an image, its
// base images and theirs) is a few dozen images with a handful of
// attestations each, far below them.
const (
	DefaultMaxFetches                 = 256
	DefaultMaxAttestations            = 4096
	DefaultMaxDependencies            = 4096
	DefaultMaxTime                    = 30 * time.Second
	DefaultMaxAttestationsPerArtifact = 128
	DefaultMaxImageMaterials          = 64
)

// ErrBudget: one evaluation reached a limit of the verifier's Budget. The
// artifact fails; the *BudgetError names the limit.
var ErrBudget = errors.New("verify: verification budget exhausted")

// Budget bounds the work of one top-level evaluation (Evaluate,
// EvaluateImage), dependencies included, so that
// what the verifier spends is set by the verifier and not by whoever
// writes the attestations and provenances it reads. A zero (or negative)
// field means its default. Give it to NewEngine with WithBudget.
type Budget struct {
	// Fetches bounds the calls to the Fetcher: one per distinct image, a
	// second meeting of an image reusing the first fetch.
	Fetches int
	// Attestations bounds the attestations examined (each a signature or
	// bundle verification, VSA candidates included), over all artifacts.
	Attestations int
	// Dependencies bounds the image materials followed, each edge of the
	// dependency graph within maxDepth counting once, even when the image
	// was judged before and its verdict is reused.
	Dependencies int
	// Time bounds the wall time of the evaluation; it is a deadline on the
	// context given to the Fetcher and to verifiers.
	Time time.Duration

	// AttestationsPerArtifact bounds the attestations of one artifact
	// (given, or fetched for an image material); an artifact with more
	// fails, as no subset of them can be chosen without ignoring some.
	AttestationsPerArtifact int
	// ImageMaterials bounds the image materials of one provenance whose
	// dependencies are checked; a provenance with more fails.
	ImageMaterials int
}

// withDefaults fills unset limits with the defaults.
func (b Budget) withDefaults() Budget {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&b.Fetches, DefaultMaxFetches)
	def(&b.Attestations, DefaultMaxAttestations)
	def(&b.Dependencies, DefaultMaxDependencies)
	def(&b.AttestationsPerArtifact, DefaultMaxAttestationsPerArtifact)
	def(&b.ImageMaterials, DefaultMaxImageMaterials)
	if b.Time <= 0 {
		b.Time = DefaultMaxTime
	}
	return b
}

// WithBudget sets the limits of each evaluation; fields left zero keep
// their defaults. The budget is the verifier's: policies and attestations
// cannot change it.
func WithBudget(b Budget) EngineOption { return func(c *engineConfig) { c.budget = b } }

// BudgetError says which limit of the Budget an evaluation reached. It
// matches ErrBudget, and for the Time limit context.DeadlineExceeded too.
type BudgetError struct {
	// Limit is the name of the Budget field reached: "Fetches",
	// "Attestations", "Dependencies", "Time", "AttestationsPerArtifact" or
	// "ImageMaterials".
	Limit string
	// Budget is the budget in force, defaults filled in.
	Budget Budget
}

func (e *BudgetError) Error() string {
	var max any
	switch e.Limit {
	case "Fetches":
		max = e.Budget.Fetches
	case "Attestations":
		max = e.Budget.Attestations
	case "Dependencies":
		max = e.Budget.Dependencies
	case "Time":
		max = e.Budget.Time
	case "AttestationsPerArtifact":
		max = e.Budget.AttestationsPerArtifact
	case "ImageMaterials":
		max = e.Budget.ImageMaterials
	}
	return fmt.Sprintf("%v: %s limit %v", ErrBudget, e.Limit, max)
}

func (e *BudgetError) Unwrap() []error {
	if e.Limit == "Time" {
		return []error{ErrBudget, context.DeadlineExceeded}
	}
	return []error{ErrBudget}
}

// walk is the state of one top-level evaluation: what it has spent, what
// it has fetched and judged (so that an image met again, as in a diamond,
// is not fetched or verified again), and why it stopped, if it did. It is
// never shared between evaluations, so an Engine stays safe to use from
// many goroutines.
type walk struct {
	b                   Budget
	fetches, atts, deps int
	// stopped is set when a global limit is reached or the context is
	// done: from then on nothing is fetched or verified, and every
	// artifact on the way up fails.
	stopped error
	fetched map[string]fetched
	judged  map[judgedKey][]*judgement
	ids     map[string]int // sha256 digest → bit in reach sets
}

// newWalk starts a walk; its maps are made on first use, as most
// evaluations have no dependencies.
func newWalk(b Budget) *walk { return &walk{b: b} }

type fetched struct {
	atts []*sign.Attestation
	err  error
}

// judgedKey identifies a question the walk has answered: an image (name
// and digest: the name picks the signer rule) judged by an engine (the
// same digest under another dependency policy is another question).
type judgedKey struct {
	e            *Engine
	name, digest string
}

// judgement is an answer, for an image met at depth (len of its path).
// reach holds the image and every image its passing provenance's
// dependencies lead to within maxDepth: if one of them is on the path of a
// later meeting, reusing a pass would hide a cycle.
type judgement struct {
	depth int
	rep   *Report
	err   error
	reach bitset
}

// remember records the judgement of key.
func (w *walk) remember(key judgedKey, j *judgement) {
	if w.judged == nil {
		w.judged = map[judgedKey][]*judgement{}
	}
	w.judged[key] = append(w.judged[key], j)
}

// stop records why the walk stops, once.
func (w *walk) stop(err error) error {
	if w.stopped == nil {
		w.stopped = err
	}
	return w.stopped
}

// live returns the reason to stop, if any: an earlier stop or the
// context being done.
func (w *walk) live(ctx context.Context) error {
	if w.stopped != nil {
		return w.stopped
	}
	if err := ctxErr(ctx); err != nil {
		return w.stop(err)
	}
	return nil
}

// spend takes n from a counter, or stops the walk when that would pass
// max.
func (w *walk) spend(counter *int, n, max int, limit string) error {
	if *counter+n > max {
		return w.stop(&BudgetError{Limit: limit, Budget: w.b})
	}
	*counter += n
	return nil
}

// fetch returns the attestations of image, fetching each image once per
// walk (failures included: they are not retried).
func (w *walk) fetch(ctx context.Context, f Fetcher, image string) ([]*sign.Attestation, error) {
	if r, ok := w.fetched[image]; ok {
		return r.atts, r.err
	}
	if err := w.live(ctx); err != nil {
		return nil, err
	}
	if err := w.spend(&w.fetches, 1, w.b.Fetches, "Fetches"); err != nil {
		return nil, err
	}
	atts, err := f.Fetch(ctx, image)
	if err != nil {
		if cerr := ctxErr(ctx); cerr != nil {
			// The fetch failed because the evaluation is over, not
			// because of the image: stop, and remember nothing.
			return nil, w.stop(cerr)
		}
	}
	if w.fetched == nil {
		w.fetched = map[string]fetched{}
	}
	w.fetched[image] = fetched{atts: atts, err: err}
	return atts, err
}

// judgement returns a reusable answer for key at depth: the same depth; or
// a pass found with at least as many levels below (passing with more
// levels checked implies passing with fewer); or a failure found with at
// most as many (failing with fewer levels implies failing with more).
func (w *walk) judgement(key judgedKey, depth int) *judgement {
	var best *judgement
	for _, j := range w.judged[key] {
		switch {
		case j.depth == depth:
			return j
		case j.err == nil && j.depth < depth, j.err != nil && j.depth > depth:
			best = j
		}
	}
	return best
}

func (w *walk) id(digest string) int {
	i, ok := w.ids[digest]
	if !ok {
		if w.ids == nil {
			w.ids = map[string]int{}
		}
		i = len(w.ids)
		w.ids[digest] = i
	}
	return i
}

// onPath returns the first digest of path in reach, or "".
func (w *walk) onPath(reach bitset, path []string) string {
	for _, d := range path {
		if i, ok := w.ids[d]; ok && reach.has(i) {
			return d
		}
	}
	return ""
}

// stopCheck names the check that records why a walk stopped.
func stopCheck(err error) string {
	if errors.Is(err, ErrBudget) {
		return "budget"
	}
	return "context"
}

// ctxErr is ctx's error, with its cause when that says more (as the
// BudgetError of the Time limit does).
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if c := context.Cause(ctx); c != nil && c != err {
		if errors.Is(c, err) {
			return c
		}
		return fmt.Errorf("%w (%w)", err, c)
	}
	return err
}

// bitset is a set of small integers (digest ids of one walk, bounded by
// its fetches).
type bitset []uint64

func (b *bitset) add(i int) {
	for len(*b) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b *bitset) union(o bitset) {
	for len(*b) < len(o) {
		*b = append(*b, 0)
	}
	for i, w := range o {
		(*b)[i] |= w
	}
}
