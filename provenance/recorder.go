package provenance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsakit/slsakit/intoto"
)

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// WithClock sets the clock Start and Finish read (default time.Now).
func WithClock(now func() time.Time) RecorderOption {
	return func(r *Recorder) {
		if now != nil {
			r.now = now
		}
	}
}

// WithInvocationID sets runDetails.metadata.invocationId.
func WithInvocationID(id string) RecorderOption {
	return func(r *Recorder) { r.invocationID = id }
}

// Recorder collects what a build used and produced and builds an in-toto
// Statement v1 with a SLSA Provenance v1 predicate. All methods are safe for
// concurrent use. Output is deterministic: the same inputs give the same
// bytes whatever order goroutines added them in (subjects are sorted by
// name, materials and byproducts by URI then name then digest).
type Recorder struct {
	builder     Builder
	builderDeps []*itpb.ResourceDescriptor
	builderErr  error // from converting the builder's dependencies
	buildType   string
	now         func() time.Time

	mu           sync.Mutex
	invocationID string
	started      time.Time
	finished     time.Time
	external     map[string]*structpb.Value
	internal     map[string]*structpb.Value
	materials    []*itpb.ResourceDescriptor
	byproducts   []*itpb.ResourceDescriptor
	subjects     map[string]*itpb.ResourceDescriptor
}

// NewRecorder returns a Recorder for a builder and a build type URI.
func NewRecorder(builder Builder, buildType string, opts ...RecorderOption) *Recorder {
	// Convert now: the recorder keeps no reference to the caller's maps.
	deps, depsErr := convertAll(builder.Dependencies)
	b := Builder{ID: builder.ID}
	if builder.Version != nil {
		b.Version = make(map[string]string, len(builder.Version))
		for k, v := range builder.Version {
			b.Version[k] = v
		}
	}
	r := &Recorder{
		builder:     b,
		buildType:   buildType,
		now:         time.Now,
		external:    map[string]*structpb.Value{},
		internal:    map[string]*structpb.Value{},
		subjects:    map[string]*itpb.ResourceDescriptor{},
		builderDeps: deps,
		builderErr:  depsErr,
	}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// Start records the build's start time (startedOn).
func (r *Recorder) Start() {
	t := r.now().UTC()
	r.mu.Lock()
	r.started = t
	r.mu.Unlock()
}

// Finish records the build's end time (finishedOn).
func (r *Recorder) Finish() {
	t := r.now().UTC()
	r.mu.Lock()
	r.finished = t
	r.mu.Unlock()
}

// SetExternalParameter sets buildDefinition.externalParameters[k]. The value
// is copied now; it must be JSON-representable, else ErrInvalidParameter.
func (r *Recorder) SetExternalParameter(k string, v any) error {
	return r.setParam(r.external, k, v)
}

// SetInternalParameter sets buildDefinition.internalParameters[k], like
// SetExternalParameter.
func (r *Recorder) SetInternalParameter(k string, v any) error {
	return r.setParam(r.internal, k, v)
}

func (r *Recorder) setParam(m map[string]*structpb.Value, k string, v any) error {
	pv, err := toValue(v)
	if err != nil {
		return fmt.Errorf("parameter %q: %w", k, err)
	}
	r.mu.Lock()
	m[k] = pv
	r.mu.Unlock()
	return nil
}

// AddMaterial adds resolved dependencies. Exact duplicates are kept once.
func (r *Recorder) AddMaterial(rds ...intoto.ResourceDescriptor) error {
	ps, err := convertAll(rds)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.materials = append(r.materials, ps...)
	r.mu.Unlock()
	return nil
}

// AddByproduct adds byproducts (logs, intermediate outputs).
func (r *Recorder) AddByproduct(rds ...intoto.ResourceDescriptor) error {
	ps, err := convertAll(rds)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.byproducts = append(r.byproducts, ps...)
	r.mu.Unlock()
	return nil
}

func convertAll(rds []intoto.ResourceDescriptor) ([]*itpb.ResourceDescriptor, error) {
	ps := make([]*itpb.ResourceDescriptor, 0, len(rds))
	for _, rd := range rds {
		p, err := toProto(rd)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// AddSubject adds subjects. Each needs a name and a digest. Adding a
// subject whose name is already present is a no-op when the two agree (the
// digest sets are merged when they share an algorithm and disagree on none),
// and a *SubjectConflictError otherwise. Either all subjects are added or
// none.
func (r *Recorder) AddSubject(subjects ...intoto.ResourceDescriptor) error {
	ps := make([]*itpb.ResourceDescriptor, 0, len(subjects))
	for _, s := range subjects {
		if s.Name == "" {
			return fmt.Errorf("%w: subject without a name", intoto.ErrInvalidDescriptor)
		}
		if len(s.Digest) == 0 {
			return fmt.Errorf("%w: subject %q without a digest", intoto.ErrInvalidDescriptor, s.Name)
		}
		p, err := toProto(s)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	merged := map[string]*itpb.ResourceDescriptor{}
	for _, p := range ps {
		cur := merged[p.Name]
		if cur == nil {
			cur = r.subjects[p.Name]
		}
		if cur == nil {
			merged[p.Name] = p
			continue
		}
		m, err := mergeSubject(cur, p)
		if err != nil {
			return err
		}
		merged[p.Name] = m
	}
	for k, v := range merged {
		r.subjects[k] = v
	}
	return nil
}

func mergeSubject(cur, p *itpb.ResourceDescriptor) (*itpb.ResourceDescriptor, error) {
	conflict := &SubjectConflictError{Name: p.Name, Existing: intoto.DigestSet(cur.Digest).Clone(), New: intoto.DigestSet(p.Digest).Clone()}
	if !intoto.DigestSet(cur.Digest).Matches(p.Digest) {
		return nil, conflict
	}
	a, b := cloneRD(cur), cloneRD(p)
	a.Digest, b.Digest = nil, nil
	if !descriptorsEqual(a, b) {
		return nil, conflict
	}
	m := cloneRD(cur)
	for k, v := range p.Digest {
		m.Digest[k] = v
	}
	return m, nil
}

func cloneRD(p *itpb.ResourceDescriptor) *itpb.ResourceDescriptor {
	c := &itpb.ResourceDescriptor{
		Name: p.Name, Uri: p.Uri, Digest: intoto.DigestSet(p.Digest).Clone(), Content: p.Content,
		DownloadLocation: p.DownloadLocation, MediaType: p.MediaType, Annotations: p.Annotations,
	}
	return c
}

// AddSubjectFile hashes the file at path and adds it as a subject named by
// the file's base name.
func (r *Recorder) AddSubjectFile(ctx context.Context, path string, opts ...HashOption) error {
	d, err := HashFile(ctx, path, opts...)
	if err != nil {
		return err
	}
	return r.AddSubject(intoto.ResourceDescriptor{Name: filepath.Base(path), Digest: d})
}

// AddSubjectReader hashes rd by streaming and adds it as subject name.
func (r *Recorder) AddSubjectReader(ctx context.Context, name string, rd io.Reader, opts ...HashOption) error {
	d, _, err := hashStream(ctx, rd, newHashConfig(opts), make([]byte, hashBufferSize))
	if err != nil {
		return err
	}
	return r.AddSubject(intoto.ResourceDescriptor{Name: name, Digest: d})
}

// AddSubjectDir adds every file of a release directory as a subject, named
// by its slash-separated path relative to dir, hashed in parallel (see
// HashDir for the rules on symlinks and special files).
func (r *Recorder) AddSubjectDir(ctx context.Context, dir string, opts ...HashOption) error {
	rds, err := HashDir(ctx, dir, opts...)
	if err != nil {
		return err
	}
	return r.AddSubject(rds...)
}

// Statement returns the statement MarshalStatement writes, read back as
// Parse reads it: the one Statement type of this package, whether it comes
// from a Recorder or from a signed envelope. Failures wrap
// ErrInvalidStatement.
func (r *Recorder) Statement() (*Statement, error) {
	b, err := r.MarshalStatement()
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// statement builds the in-toto Statement v1 with its SLSA Provenance v1
// predicate, both checked with in-toto's Validate. Failures wrap
// ErrInvalidStatement (at least one subject and one external parameter are
// required by in-toto's checks).
func (r *Recorder) statement() (*itpb.Statement, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	builder := &slsa.Builder{Id: r.builder.ID}
	if len(r.builder.Version) > 0 {
		builder.Version = r.builder.Version
	}
	if r.builderErr != nil {
		return nil, fmt.Errorf("builder dependencies: %w", r.builderErr)
	}
	builder.BuilderDependencies = sortDescriptors(r.builderDeps)

	bd := &slsa.BuildDefinition{
		BuildType:            r.buildType,
		ExternalParameters:   &structpb.Struct{Fields: r.external},
		ResolvedDependencies: sortDescriptors(r.materials),
	}
	if len(r.internal) > 0 {
		bd.InternalParameters = &structpb.Struct{Fields: r.internal}
	}
	rd := &slsa.RunDetails{Builder: builder, Byproducts: sortDescriptors(r.byproducts)}
	md := &slsa.BuildMetadata{InvocationId: r.invocationID}
	if !r.started.IsZero() {
		md.StartedOn = timestamppb.New(r.started)
	}
	if !r.finished.IsZero() {
		md.FinishedOn = timestamppb.New(r.finished)
	}
	if md.InvocationId != "" || md.StartedOn != nil || md.FinishedOn != nil {
		rd.Metadata = md
	}
	prov := &slsa.Provenance{BuildDefinition: bd, RunDetails: rd}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	pj, err := protojson.Marshal(prov)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(pj, pred); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}

	names := make([]string, 0, len(r.subjects))
	for n := range r.subjects {
		names = append(names, n)
	}
	sort.Strings(names)
	subs := make([]*itpb.ResourceDescriptor, len(names))
	for i, n := range names {
		subs[i] = cloneRD(r.subjects[n])
	}
	st := &itpb.Statement{
		Type:          intoto.StatementTypeV1,
		Subject:       subs,
		PredicateType: PredicateSLSAProvenanceV1,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	return st, nil
}

// MarshalStatement returns the statement as compact, deterministic JSON:
// the bytes to sign (sign.Attest).
func (r *Recorder) MarshalStatement() ([]byte, error) {
	st, err := r.statement()
	if err != nil {
		return nil, err
	}
	return marshalStatement(st)
}

// marshalStatement renders an in-toto statement as compact JSON with
// protojson field names. protojson sorts map keys but varies whitespace
// between runs; compacting removes that, so equal statements give equal
// bytes.
func marshalStatement(st *itpb.Statement) ([]byte, error) {
	b, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	return out.Bytes(), nil
}

// sortDescriptors returns ps without exact duplicates, sorted by URI, then
// name, then digest set, then the full encoding, so the order never depends
// on the order of adds.
func sortDescriptors(ps []*itpb.ResourceDescriptor) []*itpb.ResourceDescriptor {
	if len(ps) == 0 {
		return nil
	}
	type keyed struct {
		p   *itpb.ResourceDescriptor
		key string
	}
	ks := make([]keyed, 0, len(ps))
	seen := map[string]bool{}
	for _, p := range ps {
		b, _ := protojson.Marshal(p)
		var c bytes.Buffer
		_ = json.Compact(&c, b)
		full := c.String()
		if seen[full] {
			continue
		}
		seen[full] = true
		ks = append(ks, keyed{p, full})
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i].p, ks[j].p
		if a.Uri != b.Uri {
			return a.Uri < b.Uri
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if da, db := intoto.DigestSet(a.Digest).String(), intoto.DigestSet(b.Digest).String(); da != db {
			return da < db
		}
		return ks[i].key < ks[j].key
	})
	out := make([]*itpb.ResourceDescriptor, len(ks))
	for i, k := range ks {
		out[i] = k.p
	}
	return out
}
