package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// AnnotationEnvelopeDigest is set by slsakit on referrer manifests: the
// digest of the DSSE envelope's JSON (the same bytes as the legacy layer).
// It lets Attach find an already attached envelope from the referrers list
// alone, so attaching the same envelope twice stores it once.
const AnnotationEnvelopeDigest = "dev.slsakit.envelope.digest"

// AttachResult describes what Attach wrote.
type AttachResult struct {
	Image     string         // repo@sha256:... the attestation is about
	Referrer  *v1.Descriptor // manifest descriptor of the referrer (nil if not written)
	LegacyTag string         // e.g. "sha256-<hex>.att" (empty if not written)
	Requests  int            // HTTP requests made (for tests/benchmarks)
	// Manifests are the platform manifests written to with WithRecursive
	// (Requests is counted on the outer result only).
	Manifests []*AttachResult
}

// Attach resolves ref to a digest once, then writes att for that digest in
// the chosen layout(s) (default Referrers): in the referrers layout its
// Sigstore bundle (or, for an attestation without one, a bundle of its
// envelope with a public-key hint, see WithPublicKeyHint); in the legacy
// layout its envelope, with the layer annotations cosign v2 verifies a
// keyless attestation with, derived from the bundle (CosignAnnotations). Writes never target a tag given
// by the caller; blobs are uploaded before the manifests that name them;
// concurrent attaches to one digest are serialized in-process and
// reconciled across processes by read-back and bounded retries, so no
// writer's attestation is lost. Attaching an envelope that is already there
// writes nothing.
//
// Before anything is written, att must be what List reads back and a
// verifier of the image can accept: a signed in-toto envelope
// (ErrNotAttestation otherwise) whose statement passes
// intoto.CheckStatement and has a subject with the image's sha256 digest
// (ErrSubjectMismatch: an attestation about another image would be
// rejected by every consumer of this one), and a bundle, if any, that
// carries that envelope (sign.Attestation.Validate; ErrInvalidArgument)
// and reads back (ErrInvalidBundle).
func Attach(ctx context.Context, ref string, att *sign.Attestation, opts ...Option) (*AttachResult, error) {
	o := makeOptions(opts)
	if att == nil || att.Envelope == nil {
		return nil, fmt.Errorf("%w: nil attestation or envelope", ErrInvalidArgument)
	}
	subjects, err := checkAttestation(att.Envelope, o)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(o.layout); err != nil {
		return nil, err
	}
	w, err := prepare(att, o)
	if err != nil {
		return nil, err
	}
	var tg *target
	var children []v1.Descriptor
	if o.recursive && o.platform == nil && o.platformErr == nil {
		if o.batch == nil {
			o.batch = newBatch(o.concurrency)
		}
		if tg, children, err = readImages(ctx, ref, o); err != nil {
			if tg != nil {
				return &AttachResult{Requests: tg.c.requests()}, err
			}
			return nil, err
		}
	} else if tg, err = resolveTarget(ctx, ref, o, o.layout&Referrers != 0); err != nil {
		return nil, err
	}
	r, repo, c, subj := tg.ref, tg.repo, tg.c, tg.subj
	// Every image written to must be named by the statement, checked
	// before the first write: an attestation on a platform image that does
	// not name it is one every verifier of that image rejects.
	for _, d := range append([]v1.Descriptor{subj}, children...) {
		if !slices.Contains(subjects, d.Digest.Hex) {
			return &AttachResult{Requests: c.requests()}, fmt.Errorf("%w: %w: no subject of the statement has the digest of %s@%s",
				ErrInvalidArgument, ErrSubjectMismatch, r.Context().Name(), d.Digest)
		}
	}
	if len(children) == 0 {
		res, err := attachTo(ctx, c, r.Context(), repo, subj, w)
		res.Requests = c.requests()
		return res, err
	}
	// The index and its platform manifests are distinct images, each with
	// its own lock and tags: write them concurrently, bounded by the gate
	// (WithConcurrency, shared with the rest of an AttachAll), so that a
	// registry's settle delays overlap instead of adding up.
	all := append([]v1.Descriptor{subj}, children...)
	out := make([]*AttachResult, len(all))
	errs := make([]error, len(all))
	o.batch.each(ctx, len(all), func(i int) {
		out[i], errs[i] = attachTo(ctx, c, r.Context(), repo, all[i], w)
		if errs[i] != nil && i > 0 {
			errs[i] = fmt.Errorf("oci: attaching to platform manifest %s of %s@%s: %w", all[i].Digest, r.Context().Name(), subj.Digest, errs[i])
		}
	})
	res := out[0]
	res.Manifests = out[1:]
	res.Requests = c.requests()
	return res, errors.Join(errs...)
}

// readImages is the one GET of a recursive Attach or Sign: it resolves ref
// and reads it as an index, and returns the target (subj: ref's own
// manifest) and the platform manifests the index lists (none for an image
// manifest). On a failed read the target, when not nil, has the client
// for its request count.
func readImages(ctx context.Context, ref string, o *options) (*target, []v1.Descriptor, error) {
	r, err := parseRef(ref, o)
	if err != nil {
		return nil, nil, err
	}
	repo, err := targetRepo(r, o)
	if err != nil {
		return nil, nil, err
	}
	tg := &target{ref: r, repo: repo, c: newClient(o)}
	idx, desc, err := tg.c.readIndex(ctx, r)
	if err != nil {
		return tg, nil, err
	}
	tg.subj = desc
	var children []v1.Descriptor
	if idx != nil {
		for _, m := range idx.Manifests {
			children = append(children, v1.Descriptor{MediaType: m.Descriptor.MediaType, Digest: m.Descriptor.Digest, Size: m.Descriptor.Size})
		}
	}
	return tg, children, nil
}

// attachTo writes w for the image subj under the per-image lock: the
// whole of Attach's write path for one image.
func attachTo(ctx context.Context, c *client, image, repo name.Repository, subj v1.Descriptor, w *written) (*AttachResult, error) {
	res := &AttachResult{Image: image.Name() + "@" + subj.Digest.String()}
	unlock, err := attachLocks.lock(ctx, repo.Name()+"@"+subj.Digest.String())
	if err != nil {
		return res, err
	}
	defer unlock()

	if c.o.layout&Referrers != 0 {
		d, err := attachReferrer(ctx, c, repo, subj, w)
		if err != nil {
			return res, err
		}
		res.Referrer = d
	}
	if c.o.layout&Legacy != 0 {
		tag, err := attachLegacy(ctx, c, repo, subj.Digest, w)
		if err != nil {
			return res, err
		}
		res.LegacyTag = tag
	}
	return res, nil
}

// checkAttestation refuses an envelope that List would skip or a verifier
// must reject whatever image it is attached to, and returns the sha256
// digests (hex) of its statement's subjects.
func checkAttestation(env *sign.Envelope, o *options) ([]string, error) {
	// What is written is what List parses: it must parse back, within the
	// size limit List applies.
	raw, err := envelopeJSON(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrInvalidArgument, ErrNotAttestation, err)
	}
	if _, err := sign.ParseEnvelope(raw, sign.WithMaxSize(int(min(o.maxBlob, 1<<40)))); err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrInvalidArgument, ErrNotAttestation, err)
	}
	if env.PayloadType != sign.PayloadTypeInToto {
		return nil, fmt.Errorf("%w: %w: payload type %q, want %q", ErrInvalidArgument, ErrNotAttestation, env.PayloadType, sign.PayloadTypeInToto)
	}
	if err := intoto.CheckStatement(env.Payload); err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrInvalidArgument, ErrNotAttestation, err)
	}
	// Exact key matching, as verifiers read statements; CheckStatement
	// has vouched for the shape.
	var st map[string]json.RawMessage
	var subjects []struct {
		Digest map[string]string `json:"digest"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrInvalidArgument, ErrNotAttestation, err)
	}
	if err := json.Unmarshal(st["subject"], &subjects); err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrInvalidArgument, ErrNotAttestation, err)
	}
	var hexes []string
	for _, s := range subjects {
		if h := s.Digest["sha256"]; h != "" {
			hexes = append(hexes, h)
		}
	}
	return hexes, nil
}

// referrerManifest is an OCI 1.1 image manifest with artifactType and
// subject (field order as cosign writes it).
type referrerManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func attachReferrer(ctx context.Context, c *client, repo name.Repository, subj v1.Descriptor, w *written) (*v1.Descriptor, error) {
	o, bundle := c.o, w.bundle
	envDigest := sha256Digest(w.envJSON)
	bundleDigest := sha256Digest(bundle)

	// One request tells us whether the envelope is already attached and
	// whether the empty config blob is already in the repository.
	readAt := time.Now()
	existing, supported, err := c.referrers(ctx, repo, subj.Digest.String())
	if err != nil {
		return nil, err
	}
	if !supported {
		readAt = time.Now()
		if existing, err = c.getIndex(ctx, repo, fallbackTag(subj.Digest)); err != nil {
			return nil, err
		}
	}
	configKnown := false
	atts := 0
	if existing != nil {
		for i, d := range existing.Manifests {
			if d.Annotations[AnnotationEnvelopeDigest] == envDigest {
				return &existing.Manifests[i], nil
			}
			if strings.HasPrefix(string(d.ArtifactType), mtBundlePfx) || d.Annotations[AnnotationBundleContent] != "" {
				configKnown = true
			}
			if attestationReferrer(d) {
				atts++
			}
		}
	}
	// One more than List reads would make the image unlistable.
	if err := c.checkCount(atts+1, "referrers of "+repo.Name()+"@"+subj.Digest.String()); err != nil {
		return nil, err
	}

	if !configKnown {
		if err := c.uploadBlob(ctx, repo, emptyDigest, emptyJSON, true); err != nil {
			return nil, fmt.Errorf("oci: uploading empty config: %w", err)
		}
	}
	if err := c.uploadBlob(ctx, repo, bundleDigest, bundle, false); err != nil {
		return nil, fmt.Errorf("oci: uploading bundle: %w", err)
	}
	created := o.created
	if created.IsZero() {
		created = time.Now()
	}
	ann := map[string]string{
		AnnotationCreated:        created.UTC().Format(time.RFC3339),
		AnnotationBundleContent:  "dsse-envelope",
		AnnotationEnvelopeDigest: envDigest,
	}
	if w.predicateType != "" {
		ann[AnnotationBundlePredicateType] = w.predicateType
	}
	bh, _ := v1.NewHash(bundleDigest)
	eh, _ := v1.NewHash(emptyDigest)
	m := referrerManifest{
		SchemaVersion: 2,
		MediaType:     mtOCIManifest,
		ArtifactType:  sign.MediaTypeBundle,
		Config:        v1.Descriptor{MediaType: MediaTypeEmpty, Digest: eh, Size: int64(len(emptyJSON))},
		Layers:        []v1.Descriptor{{MediaType: sign.MediaTypeBundle, Digest: bh, Size: int64(len(bundle))}},
		Subject:       &v1.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size},
		Annotations:   ann,
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	md := sha256Digest(mb)
	hdr, err := c.putManifest(ctx, repo, md, mtOCIManifest, mb)
	if err != nil {
		return nil, fmt.Errorf("oci: pushing referrer manifest: %w", err)
	}
	mh, _ := v1.NewHash(md)
	desc := v1.Descriptor{
		MediaType: mtOCIManifest, Digest: mh, Size: int64(len(mb)),
		ArtifactType: sign.MediaTypeBundle, Annotations: ann,
	}
	// A registry whose referrers API did not answer cannot list the
	// referrer, whatever its PUT response says (cue-labs' ociserver with
	// the API off still sends OCI-Subject): skipping the tag there would
	// lose the attestation for every reader.
	if supported && processedSubject(hdr, subj.Digest) {
		return &desc, nil
	}
	// The registry did not process the subject: maintain the referrers tag
	// (OCI distribution spec, "referrers tag schema").
	tag := &fallbackIndex{c: c, repo: repo, tag: fallbackTag(subj.Digest)}
	var base *tagRead // the API list is not the tag's content
	if !supported {
		base = &tagRead{at: readAt}
		if existing != nil {
			base.descs = existing.Manifests
		}
	}
	if _, err := c.mergeUntilStable(ctx, tag, desc, base); err != nil {
		return nil, err
	}
	return &desc, nil
}

// processedSubject reports whether the response to a manifest PUT says
// the registry processed the manifest's subject: the OCI distribution spec
// has a registry with the referrers API answer "OCI-Subject: <subject
// digest>", and a client that does not get it maintain the referrers tag.
// Only that exact digest counts. Any other value (another digest, several,
// garbage) from a broken registry or a man in the middle on plain HTTP
// would otherwise make us skip the tag on a registry that may not list the
// referrer at all, losing the attestation for every reader; keeping the
// tag up to date is harmless where the API works.
func processedSubject(h http.Header, subject v1.Hash) bool {
	v := h.Values("OCI-Subject")
	return len(v) == 1 && v[0] == subject.String()
}

// tagList is a list of descriptors that a tag holds and that writers
// update by read-modify-write: the manifests of the referrers tag index,
// or the layers of the legacy .att manifest.
type tagList interface {
	// read returns the tag's descriptors; nil if the tag does not exist.
	read(ctx context.Context) ([]v1.Descriptor, error)
	// write makes the tag hold descs.
	write(ctx context.Context, descs []v1.Descriptor) error
	// counts reports whether d counts against WithMaxAttestations.
	counts(d v1.Descriptor) bool
	// String names the tag in errors.
	String() string
}

// tagRead is what a read of a tagList returned, and when the read started.
type tagRead struct {
	descs []v1.Descriptor
	at    time.Time
}

// mergeUntilStable makes t hold ours and every descriptor it has been seen
// holding, and returns whether it wrote. base, when not nil, is a read of
// t to start from (saving a request).
//
// Registries have no conditional writes, so a writer that read the tag
// before our write and writes after it erases ours, and only we can notice.
// The protocol: read (or base) → merge → write if anything is missing →
// settle → read back, until a read-back holds everything we know and shows
// no writer we had not seen (stable). A read-back that lacks something
// means a stale write: back off, read afresh, merge, write again (at most
// WithConflictRetries writes, then ErrConflict). A read-back that holds
// everything but also a new writer's entries means someone was writing
// concurrently and may have read before our write: settle and read back
// again, instead of stopping at the first read-back that happens to show
// ours (that stop lost updates under load). Settling is measured from the
// read the write was built from, base included, since the whole of that
// window is when another writer can read a list without ours.
func (c *client) mergeUntilStable(ctx context.Context, t tagList, ours v1.Descriptor, base *tagRead) (wrote bool, err error) {
	var known []v1.Descriptor
	seen := map[descKey]bool{}
	merge := func(descs []v1.Descriptor) (fresh bool) {
		for _, d := range descs {
			if !seen[keyOf(d)] {
				seen[keyOf(d)] = true
				known = append(known, d)
				fresh = true
			}
		}
		return fresh
	}
	holdsAll := func(descs []v1.Descriptor) bool {
		have := make(map[descKey]bool, len(descs))
		for _, d := range descs {
			have[keyOf(d)] = true
		}
		for _, d := range known {
			if !have[keyOf(d)] {
				return false
			}
		}
		return true
	}
	var (
		cur             = base
		readBack        bool          // cur was read after one of our writes
		writes, watches int           // each bounded by conflictRetries
		window          time.Duration // longest read-to-write window so far
	)
	for {
		if cur == nil {
			cur = &tagRead{at: time.Now()}
			if cur.descs, err = t.read(ctx); err != nil {
				return wrote, err
			}
		}
		fresh := merge(cur.descs)
		if !seen[keyOf(ours)] {
			seen[keyOf(ours)] = true
			known = append(known, ours)
		}
		switch {
		case holdsAll(cur.descs) && (!wrote || !fresh):
			return wrote, nil
		case holdsAll(cur.descs):
			// Ours is there, and so is a writer we had not seen: it may
			// have read the list before our write and still be writing.
			if watches++; watches > c.o.conflictRetries {
				return wrote, nil
			}
			if err := settle(ctx, window); err != nil {
				return wrote, err
			}
			cur, readBack = nil, true
		case readBack:
			// A stale write erased something: back off, then merge a
			// fresh read.
			if err := sleepBackoff(ctx, writes); err != nil {
				return wrote, err
			}
			cur, readBack = nil, false
		default:
			if writes == c.o.conflictRetries {
				return wrote, fmt.Errorf("%w: %s after %d writes", ErrConflict, t, writes)
			}
			n := 0
			for _, d := range known {
				if t.counts(d) {
					n++
				}
			}
			if err := c.checkCount(n, t.String()); err != nil {
				return wrote, err
			}
			if err := t.write(ctx, known); err != nil {
				return wrote, err
			}
			writes, wrote = writes+1, true
			window = max(window, time.Since(cur.at))
			if err := settle(ctx, window); err != nil {
				return wrote, err
			}
			cur, readBack = nil, true
		}
	}
}

// descKey identifies an entry of a tagList. The digest alone does not:
// cosign's .sig layers are the image's simple-signing payload, the same
// bytes for every signer, and differ only in their signature annotation.
type descKey struct {
	digest v1.Hash
	sig    string
}

func keyOf(d v1.Descriptor) descKey {
	return descKey{d.Digest, d.Annotations[AnnotationSignature]}
}

// settle waits before a read-back long enough that a concurrent writer who
// read the tag before our write has, very likely, written too: three times
// our own read-to-write window plus jitter. The read-back then sees its
// write and we re-merge. Writers that stall for longer than that can still
// lose an update; no client-side scheme can exclude it on a registry
// without conditional writes.
func settle(ctx context.Context, window time.Duration) error {
	d := 3*window + time.Duration(rand.Int64N(int64(window)+1))
	d = max(d, time.Millisecond)
	d = min(d, 2*time.Second)
	return sleepCtx(ctx, d)
}

// fallbackIndex is the referrers tag index (OCI distribution spec,
// "referrers tag schema") of one subject.
type fallbackIndex struct {
	c    *client
	repo name.Repository
	tag  string
}

func (f *fallbackIndex) read(ctx context.Context) ([]v1.Descriptor, error) {
	idx, err := f.c.getIndex(ctx, f.repo, f.tag)
	if err != nil || idx == nil {
		return nil, err
	}
	return idx.Manifests, nil
}

func (f *fallbackIndex) write(ctx context.Context, descs []v1.Descriptor) error {
	b, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs})
	if err != nil {
		return err
	}
	if _, err := f.c.putManifest(ctx, f.repo, f.tag, mtOCIIndex, b); err != nil {
		return fmt.Errorf("oci: pushing referrers tag %s: %w", f.tag, err)
	}
	return nil
}

func (f *fallbackIndex) counts(d v1.Descriptor) bool { return attestationReferrer(d) }

func (f *fallbackIndex) String() string { return f.repo.Name() + ":" + f.tag }

// descLayer is a layer known only by its descriptor: enough for mutate to
// compute a manifest and config without the layer's bytes.
type descLayer struct{ d v1.Descriptor }

var errNoContent = errors.New("oci: descriptor-only layer has no content")

func (l descLayer) Digest() (v1.Hash, error) { return l.d.Digest, nil }

func (l descLayer) DiffID() (v1.Hash, error) { return l.d.Digest, nil }

func (l descLayer) Compressed() (io.ReadCloser, error) { return nil, errNoContent }

func (l descLayer) Uncompressed() (io.ReadCloser, error) { return nil, errNoContent }

func (l descLayer) Size() (int64, error) { return l.d.Size, nil }

func (l descLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }

// legacyImage builds the manifest and config cosign writes for these layers.
// Manifest annotations of an existing .att manifest are kept.
func legacyImage(layers []v1.Descriptor, annotations map[string]string) (manifest, config []byte, err error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if len(annotations) > 0 {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, d := range layers {
		adds[i] = mutate.Addendum{Layer: descLayer{d}, Annotations: d.Annotations, MediaType: d.MediaType}
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, nil, err
	}
	if config, err = img.RawConfigFile(); err != nil {
		return nil, nil, err
	}
	if manifest, err = img.RawManifest(); err != nil {
		return nil, nil, err
	}
	return manifest, config, nil
}

func attachLegacy(ctx context.Context, c *client, repo name.Repository, h v1.Hash, w *written) (string, error) {
	tag, layer := legacyTag(h), w.envJSON
	ld, _ := v1.NewHash(sha256Digest(layer))
	ours := v1.Descriptor{MediaType: MediaTypeDSSE, Digest: ld, Size: int64(len(layer)), Annotations: w.legacyAnn}

	// Upload the layer first: it keeps the read-modify-write window short
	// and guarantees the manifest never names a missing blob.
	if err := c.uploadBlob(ctx, repo, ld.String(), layer, false); err != nil {
		return "", fmt.Errorf("oci: uploading attestation layer: %w", err)
	}
	if _, err := c.mergeUntilStable(ctx, &attManifest{c: c, repo: repo, tag: tag}, ours, nil); err != nil {
		return "", err
	}
	return tag, nil
}

// attManifest is cosign's legacy .att manifest of one subject. Its
// manifest annotations (another tool's) are kept from the latest read.
type attManifest struct {
	c           *client
	repo        name.Repository
	tag         string
	annotations map[string]string
}

func (a *attManifest) read(ctx context.Context) ([]v1.Descriptor, error) {
	m, err := a.c.getLegacy(ctx, a.repo, a.tag)
	if err != nil || m == nil {
		return nil, err
	}
	a.annotations = m.Annotations
	return m.Layers, nil
}

func (a *attManifest) write(ctx context.Context, descs []v1.Descriptor) error {
	mb, cb, err := legacyImage(descs, a.annotations)
	if err != nil {
		return err
	}
	if err := a.c.uploadBlob(ctx, a.repo, sha256Digest(cb), cb, false); err != nil {
		return fmt.Errorf("oci: uploading attestation config: %w", err)
	}
	if _, err := a.c.putManifest(ctx, a.repo, a.tag, mtOCIManifest, mb); err != nil {
		return fmt.Errorf("oci: pushing %s: %w", a.tag, err)
	}
	return nil
}

func (a *attManifest) counts(d v1.Descriptor) bool { return d.MediaType == MediaTypeDSSE }

func (a *attManifest) String() string { return a.repo.Name() + ":" + a.tag }

// written is what Attach writes for one attestation, derived from it
// and checked before the first request.
type written struct {
	envJSON       []byte            // the legacy layer; its digest marks the referrer
	bundle        []byte            // the referrer layer
	legacyAnn     map[string]string // the legacy layer's annotations
	predicateType string
}

// prepare derives what Attach writes for a in o's layouts and refuses
// what List would not read back: a bundle that does not carry a's envelope
// (ErrInvalidArgument), one that does not encode and parse back or whose
// log entries cosign's annotations cannot be made from (ErrInvalidBundle),
// and a bundle over List's download cap (ErrNotAttestation), which would
// fail List for the image, for every reader.
func prepare(a *sign.Attestation, o *options) (*written, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	w := &written{predicateType: predicateTypeOf(a.Envelope)}
	var err error
	if w.envJSON, err = envelopeJSON(a.Envelope); err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrInvalidArgument, ErrNotAttestation, err)
	}
	if o.layout&Referrers != 0 {
		if w.bundle, err = referrerBundle(a, o); err != nil {
			return nil, err
		}
		if int64(len(w.bundle)) > o.maxBlob {
			return nil, fmt.Errorf("%w: %w: bundle is %d bytes, limit %d", ErrInvalidArgument, ErrNotAttestation, len(w.bundle), o.maxBlob)
		}
		if _, err := ParseBundle(w.bundle, sign.WithMaxSize(int(min(o.maxBlob, 1<<40)))); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
	}
	w.legacyAnn = map[string]string{}
	if a.Bundle != nil {
		if w.legacyAnn, err = CosignAnnotations(a.Bundle); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
		}
	}
	w.legacyAnn[AnnotationSignature] = ""
	if w.predicateType != "" {
		w.legacyAnn[AnnotationPredicateType] = w.predicateType
	}
	return w, nil
}

// referrerBundle is the referrer layer of a: its bundle, or for a
// key-signed attestation a bundle of the envelope with a public-key hint
// (WithPublicKeyHint, default the first signature's keyid) and no log entry.
func referrerBundle(a *sign.Attestation, o *options) ([]byte, error) {
	b := a.Bundle
	if b == nil {
		hint := o.hint
		if !o.hintSet {
			hint = a.Envelope.Signatures[0].KeyID
		}
		b = &sign.Bundle{
			MediaType:            sign.MediaTypeBundle,
			VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: hint}},
			DSSEEnvelope:         a.Envelope,
		}
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	return raw, nil
}
