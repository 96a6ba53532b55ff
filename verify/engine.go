package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/platform"
	"github.com/slsakit/slsakit/sign"
)

// Errors of policy evaluation, beside those of Verify. Match with errors.Is.
var (
	// ErrNoTrustedSigners: no signer rule of the policy covers the artifact.
	ErrNoTrustedSigners = errors.New("verify: no signer rule covers the artifact")
	// ErrNoAttestation: no attestation was signed by the artifact's trusted
	// signers and about the artifact's digest.
	ErrNoAttestation = errors.New("verify: no trusted attestation for the artifact")
	// ErrMissingPredicate: a required predicate type has no trusted attestation.
	ErrMissingPredicate = errors.New("verify: required predicate missing")
	// ErrSource: the provenance does not name the required source.
	ErrSource = errors.New("verify: unexpected source")
	// ErrMaterial: a material breaks the material rules (e.g. an image by tag).
	ErrMaterial = errors.New("verify: material not pinned")
	// ErrParameter: an external parameter breaks its rule.
	ErrParameter = errors.New("verify: external parameter not allowed")
	// ErrTooOld: the build finished longer ago than the policy's maxAge.
	ErrTooOld = errors.New("verify: attestation too old")
	// ErrDependency: an image material's own attestations fail its policy,
	// cannot be fetched, or form a cycle.
	ErrDependency = errors.New("verify: dependency not verified")
	// ErrUnsupported: the policy asks for something this build of slsakit
	// cannot check (it fails closed).
	ErrUnsupported = errors.New("verify: unsupported policy feature")
)

// KeyResolver turns a KMS key reference of a policy into a verifier; for
// GCP pass a function that calls kms.NewVerifier.
type KeyResolver func(ctx context.Context, ref string) (sign.Verifier, error)

// EngineOption configures NewEngine.
type EngineOption func(*engineConfig)

type engineConfig struct {
	resolver KeyResolver
	now      func() time.Time
	vsa      []vsaConfig
	fetcher  Fetcher
	identity IdentityAuthenticator
	budget   Budget
	signers  []SignerRule
}

// Fetcher gets the attestations stored for an image, given as
// "registry/repository@sha256:<hex>". OCIFetcher provides one. One
// evaluation asks for an image at most once, within its Budget; ctx
// carries the evaluation's deadline, which a Fetcher must honour for the
// Time limit to hold.
type Fetcher interface {
	Fetch(ctx context.Context, image string) ([]*sign.Attestation, error)
}

// WithIdentities lets the engine check signer rules with keyless
// identities: f makes each rule's Authenticator (keyless.Identities
// provides one), with the engine's clock. Without it NewEngine refuses such
// rules with ErrUnsupported.
func WithIdentities(f IdentityAuthenticator) EngineOption {
	return func(c *engineConfig) { c.identity = f }
}

// WithSigners adds signer rules next to the policy's own, from a trust
// source outside the policy file (trust.Delegations reads them from a TUF
// repository that delegates per subproject). They are validated like the
// policy's (one rule per pattern), the most specific rule still alone
// applies, they apply to a dependency policy too, and they count in
// PolicyDigest: a VSA issued under other delegated trust is not reused.
func WithSigners(rules ...SignerRule) EngineOption {
	return func(c *engineConfig) { c.signers = append(c.signers, rules...) }
}

// WithFetcher lets the engine fetch the attestations of image materials,
// which a policy with dependencies needs.
func WithFetcher(f Fetcher) EngineOption { return func(c *engineConfig) { c.fetcher = f } }

// WithKeyResolver resolves the policy's kms key references.
func WithKeyResolver(r KeyResolver) EngineOption { return func(c *engineConfig) { c.resolver = r } }

// WithClock sets the engine's clock (default time.Now; nil means the
// default): maxAge, the freshness of trusted VSAs, the timeVerified of the
// VSAs the engine writes, and the signing times the authenticators of
// keyless identities check (WithIdentities) are all judged by it, so that
// one clock decides every time in an evaluation.
func WithClock(now func() time.Time) EngineOption {
	return func(c *engineConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// Engine evaluates artifacts against one Policy. Build it once (keys are
// loaded and resolved then) and use it from many goroutines.
type Engine struct {
	p     *Policy
	now   func() time.Time
	rules []compiledRule
	vsa   []trustedVSA
	fetch Fetcher
	// deps evaluates image materials (nil: they are not checked): e itself,
	// or the engine of the dependency policy, which then applies at every
	// level below, down to maxDepth.
	deps     *Engine
	maxDepth int
	budget   Budget // of each top-level evaluation, defaults filled in
	// canon is the policy's identity form and id its digest (PolicyDigest):
	// every engine has one, so that no VSA is accepted for "any policy".
	canon *Policy
	id    string
}

type compiledRule struct {
	index int
	pat   pattern
	// auth trusts the rule's keys (with its threshold), its identities, or
	// either.
	auth Authenticator
	// bind is the rule's BindToProvenance.
	bind []string
}

// NewEngine validates p and loads every key it names.
func NewEngine(ctx context.Context, p *Policy, opts ...EngineOption) (*Engine, error) {
	cfg := engineConfig{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if p == nil {
		return nil, &PolicyError{Err: errors.New("nil policy")}
	}
	// The engine reads its own deep copy: the caller may go on changing its
	// Policy, even from another goroutine, without changing any verdict.
	// validate writes to the policy it checks (compiled patterns, lines),
	// so it runs on the copy too.
	p = p.clone()
	p.Signers = append(p.Signers, (&Policy{Signers: cfg.signers}).clone().Signers...)
	if err := p.validate(); err != nil {
		return nil, err
	}
	e := &Engine{p: p, now: cfg.now, fetch: cfg.fetcher, budget: cfg.budget.withDefaults()}
	if d := p.Dependencies; d != nil {
		if cfg.fetcher == nil {
			return nil, p.errAt("dependencies", "%w: verifying dependencies needs a Fetcher (WithFetcher)", ErrUnsupported)
		}
		e.deps, e.maxDepth = e, d.MaxDepth
		if e.maxDepth == 0 {
			e.maxDepth = 1
		}
		if d.Policy != nil {
			child, err := NewEngine(ctx, d.Policy, opts...)
			if err != nil {
				return nil, err
			}
			child.deps, child.maxDepth = child, e.maxDepth
			e.deps = child
		}
	}
	for i, tv := range cfg.vsa {
		auth, err := Keys(WithKeys(tv.keys...))
		if err != nil || tv.id == "" || tv.maxAge <= 0 {
			return nil, fmt.Errorf("verify: trusted VSA verifier %d needs an ID, a max age and keys: %v", i, err)
		}
		e.vsa = append(e.vsa, trustedVSA{id: tv.id, maxAge: tv.maxAge, auth: auth})
	}
	loaded := make([][]sign.Verifier, len(p.Signers))
	for i, r := range p.Signers {
		auth, keys, err := compileSigners(ctx, p, i, r, cfg)
		if err != nil {
			return nil, err
		}
		e.rules = append(e.rules, compiledRule{index: i, pat: compilePattern(r.Artifacts), auth: auth, bind: r.BindToProvenance})
		loaded[i] = keys
	}
	var dep *Policy
	if e.deps != nil && e.deps != e {
		dep = e.deps.canon
	}
	var err error
	if e.canon, e.id, err = p.identity(loaded, dep); err != nil {
		return nil, p.errAt("", "no identity for VSAs: %w", err)
	}
	return e, nil
}

// PolicyDigest is the identity of the policy this engine enforces, as VSAs
// name it ({"sha256": hex}): a digest of the policy's canonical form with
// every key resolved to its public key, the same whether the policy was
// read from a file or built in Go (see Policy for what counts). VSA writes
// it, and a trusted VSA is accepted only when it names it exactly.
func (e *Engine) PolicyDigest() map[string]string {
	return map[string]string{"sha256": e.id}
}

// compileSigners makes the Authenticator of signer rule i: its keys with
// its threshold, its identities through the engine's IdentityAuthenticator
// (with the engine's clock), or either of the two.
func compileSigners(ctx context.Context, p *Policy, i int, r SignerRule, cfg engineConfig) (Authenticator, []sign.Verifier, error) {
	f := fmt.Sprintf("signers[%d]", i)
	var ids Authenticator
	if len(r.Identities) > 0 {
		if cfg.identity == nil {
			return nil, nil, p.errAt(f+".identities", "%w: keyless identities need a keyless authenticator (WithIdentities)", ErrUnsupported)
		}
		var err error
		if ids, err = cfg.identity(r.Identities, cfg.now); err != nil {
			return nil, nil, p.errAt(f+".identities", "%w", err)
		}
		if ids == nil {
			return nil, nil, p.errAt(f+".identities", "the IdentityAuthenticator returned no authenticator")
		}
	}
	var keys []sign.Verifier
	for j, k := range r.Keys {
		kv, err := p.loadKey(ctx, k, cfg.resolver)
		if err != nil {
			return nil, nil, p.errAt(fmt.Sprintf("%s.keys[%d]", f, j), "%w", err)
		}
		keys = append(keys, kv)
	}
	if len(keys) == 0 {
		return ids, nil, nil
	}
	th := r.Threshold
	if th == 0 {
		th = 1
	}
	ka, err := Keys(WithKeys(keys...), WithThreshold(th))
	if err != nil {
		return nil, nil, p.errAt(f, "%w", err)
	}
	if ids == nil {
		return ka, keys, nil
	}
	// Identities first: an attestation with a bundle is usually keyless.
	return AnyOf(ids, ka), keys, nil
}

func (p *Policy) loadKey(ctx context.Context, k KeyRef, resolve KeyResolver) (sign.Verifier, error) {
	switch {
	case k.KMS != "":
		if resolve == nil {
			return nil, fmt.Errorf("%w: kms key %q but no KeyResolver given to NewEngine", ErrUnsupported, k.KMS)
		}
		return resolve(ctx, k.KMS)
	case k.File != "":
		path := k.File
		if !filepath.IsAbs(path) && p.dir != "" {
			path = filepath.Join(p.dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return pemVerifier(data)
	default:
		return pemVerifier([]byte(k.PEM))
	}
}

func pemVerifier(data []byte) (sign.Verifier, error) {
	pub, err := sign.LoadPublicKey(data)
	if err != nil {
		return nil, err
	}
	return sign.NewVerifier(pub, "")
}

// Report is the outcome of evaluating one artifact: the signer rule that
// applied, each attestation's own verification, and the policy's checks.
type Report struct {
	Artifact     intoto.ResourceDescriptor // its name selects the signer rule; its digest must be a subject
	Rule         string                    // the artifacts pattern of the signer rule applied
	Attestations []*Result                 // one per attestation, in input order
	Checks       []Check
	Dependencies []*Report // reports of image materials, when the policy asks
	// Reused, when set, is the report of the same image judged earlier in
	// the same evaluation by the same policy: this report repeats its
	// verdict (its Checks) and leaves out its attestations and
	// dependencies, which are in Reused (and printed once). JSON encoding
	// skips it: following it would repeat shared subtrees once per path.
	Reused *Report `json:"-"`
}

// Err joins the failures of the policy checks; nil when the artifact passes.
// Failures of individual attestations are in Attestations: an artifact may
// pass with some attestations rejected, as long as the policy is met.
func (r *Report) Err() error {
	return (&Result{Checks: r.Checks}).Err()
}

// Passed reports whether the artifact meets the policy.
func (r *Report) Passed() bool { return r.Err() == nil }

// String renders the report for a person at a terminal.
func (r *Report) String() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "policy: %s for %s %s\n", verdict, r.Artifact.Name, r.Artifact.Digest)
	if r.Reused != nil {
		// Not the details again: a graph where images share dependencies
		// would print them once per path, exponentially many times.
		b.WriteString("  reused: judged earlier in this evaluation, see above\n")
		return b.String()
	}
	if r.Rule != "" {
		fmt.Fprintf(&b, "  signer rule: %s\n", r.Rule)
	}
	b.WriteString(strings.TrimPrefix((&Result{Checks: r.Checks}).String(), "verification: "+verdict+"\n"))
	for i, a := range r.Attestations {
		pt := "?"
		if a.Statement != nil {
			pt = a.Statement.PredicateType
		}
		status := "accepted"
		if err := a.Err(); err != nil {
			status = "rejected: " + err.Error()
		}
		fmt.Fprintf(&b, "  attestation[%d] %s: %s\n", i, pt, status)
	}
	for _, d := range r.Dependencies {
		b.WriteString("  dependency " + strings.ReplaceAll(strings.TrimSuffix(d.String(), "\n"), "\n", "\n  ") + "\n")
	}
	return b.String()
}

// rule returns the most specific signer rule matching name.
func (e *Engine) rule(name string) (compiledRule, bool) {
	var best compiledRule
	found := false
	for _, r := range e.rules {
		if r.pat.match(name) && (!found || moreSpecific(r.pat, best.pat)) {
			best, found = r, true
		}
	}
	return best, found
}

// Evaluate judges an artifact (art: its name, an image repository such as
// registry.example.com/app or a file name, selects the signer rule; its
// digest must be a subject) by its attestations. Each is authenticated
// by the most specific signer rule for the artifact's name (its keys with
// its threshold, its keyless identities, or either), and must have the
// artifact's digest as a subject; the ones that pass are the trusted
// attestations. Then required predicates are looked for among them, and
// the provenance rules are applied to each trusted SLSA provenance: the
// artifact passes when one of them meets every rule. The error joins the
// failed checks' errors.
func (e *Engine) Evaluate(ctx context.Context, art intoto.ResourceDescriptor, atts []*sign.Attestation) (*Report, error) {
	w := newWalk(e.budget)
	// The walk's budget: the deadline of its Time limit, and counters and
	// memory shared by every artifact judged below.
	ctx, cancel := context.WithTimeoutCause(ctx, e.budget.Time, &BudgetError{Limit: "Time", Budget: e.budget})
	defer cancel()
	return e.evaluate(ctx, w, art, atts, &visit{path: []string{strings.ToLower(art.Digest[intoto.AlgSHA256])}})
}

// visit is one artifact's place in a walk.
type visit struct {
	path []string // sha256 digests from the top-level artifact down to this one
	// reach collects the artifact and, when it passes, every image its
	// passing provenance's dependencies lead to within maxDepth.
	reach bitset
}

// evaluate judges art at v, spending from w.
func (e *Engine) evaluate(ctx context.Context, w *walk, art intoto.ResourceDescriptor, atts []*sign.Attestation, v *visit) (*Report, error) {
	rep := &Report{Artifact: art}
	res := &Result{}
	defer func() { rep.Checks = res.Checks }()

	if _, err := expectedDigest(art.Digest); err != nil {
		res.fail("artifact", "a strong digest", art.Digest.String(), fmt.Errorf("artifact %q: %w", art.Name, err))
		return rep, res.Err()
	}
	if len(atts) > w.b.AttestationsPerArtifact {
		res.fail("attestations", fmt.Sprintf("at most %d", w.b.AttestationsPerArtifact), fmt.Sprint(len(atts)),
			&BudgetError{Limit: "AttestationsPerArtifact", Budget: w.b})
		return rep, res.Err()
	}
	// Every attestation below is examined (VSA candidates by each trusted
	// VSA verifier, then all by the signer rule): pay for them up front.
	if err := w.live(ctx); err != nil {
		res.fail(stopCheck(err), "the evaluation goes on", "stopped", err)
		return rep, res.Err()
	}
	if err := w.spend(&w.atts, len(atts)*(len(e.vsa)+1), w.b.Attestations, "Attestations"); err != nil {
		res.fail(stopCheck(err), "the evaluation goes on", "stopped", err)
		return rep, res.Err()
	}
	if len(e.vsa) > 0 {
		ok, why := e.fastPath(ctx, art, atts)
		if ok {
			res.pass("vsa", "a PASSED VSA from a trusted verifier", "accepted: full evaluation not needed")
			return rep, nil
		}
		reason := "no VSA from a trusted verifier"
		if len(why) > 0 {
			reason = strings.Join(why, "; ")
		}
		res.skip("vsa", reason)
	}
	rule, ok := e.rule(art.Name)
	if !ok {
		res.fail("signers", "a rule matching "+art.Name, "none", ErrNoTrustedSigners)
		return rep, res.Err()
	}
	rep.Rule = rule.pat.src
	res.pass("signers", "", fmt.Sprintf("rule signers[%d] %q", rule.index, rule.pat.src))

	var trusted []*provenance.Statement
	signers := map[*provenance.Statement][]Signer{} // who signed each, for bindings
	for _, a := range atts {
		r, err := Verify(ctx, rule.auth, a, Expectations{SubjectDigest: art.Digest})
		rep.Attestations = append(rep.Attestations, r)
		if err == nil {
			trusted = append(trusted, r.Statement)
			signers[r.Statement] = r.Signers
		}
	}
	if len(trusted) == 0 {
		res.fail("attestations", "at least 1 trusted attestation", fmt.Sprintf("0 of %d", len(atts)), ErrNoAttestation)
		return rep, res.Err()
	}
	res.pass("attestations", "", fmt.Sprintf("%d of %d trusted", len(trusted), len(atts)))

	for _, pt := range e.p.RequiredPredicates {
		found := false
		for _, st := range trusted {
			found = found || st.PredicateType == pt
		}
		if found {
			res.pass("predicate", pt, pt)
		} else {
			res.fail("predicate", pt, "", ErrMissingPredicate)
		}
	}

	if !e.p.hasProvenanceRules() && e.deps == nil && len(rule.bind) == 0 {
		return rep, res.Err()
	}
	var provs []*provenance.Statement
	for _, st := range trusted {
		if st.Provenance != nil {
			provs = append(provs, st)
		}
	}
	if len(provs) == 0 {
		res.fail("provenance", "a trusted SLSA provenance", "none", fmt.Errorf("%w: the policy has provenance rules", ErrMissingPredicate))
		return rep, res.Err()
	}
	var all []Check
	for i, st := range provs {
		pr := &Result{}
		var reach bitset
		e.checkProvenance(pr, st.Provenance)
		if len(rule.bind) > 0 {
			checkBinding(pr, rule.bind, signers[st], st.Provenance)
		}
		if pr.Err() == nil && e.deps != nil {
			e.checkDependencies(ctx, w, pr, rep, st.Provenance, v.path, &reach)
		}
		if pr.Err() == nil {
			v.reach.union(reach)
			res.Checks = append(res.Checks, pr.Checks...)
			return rep, res.Err()
		}
		for _, c := range pr.Checks {
			if len(provs) > 1 {
				c.Name = fmt.Sprintf("provenance[%d].%s", i, c.Name)
			}
			all = append(all, c)
		}
		if w.stopped != nil {
			break // the other provenances could not be checked either
		}
	}
	res.Checks = append(res.Checks, all...)
	return rep, res.Err()
}

func (p *Policy) hasProvenanceRules() bool {
	return len(p.Builders) > 0 || len(p.BuildTypes) > 0 || p.Source != nil || p.MaxAge > 0 ||
		p.Materials.RequireDigests || p.Materials.RequireImageDigests || len(p.Parameters) > 0 ||
		p.Dependencies != nil
}

func (e *Engine) checkProvenance(r *Result, pv *provenance.Provenance) {
	p := e.p
	if len(p.Builders) > 0 {
		if rule, ok := matchBuilder(p.Builders, pv.BuilderID); ok {
			r.pass("builder", rule, pv.BuilderID)
		} else {
			r.fail("builder", builderList(p.Builders), pv.BuilderID, ErrBuilder)
		}
	}
	if len(p.BuildTypes) > 0 {
		if contains(p.BuildTypes, pv.BuildType) {
			r.pass("buildType", pv.BuildType, pv.BuildType)
		} else {
			r.fail("buildType", strings.Join(p.BuildTypes, " | "), pv.BuildType, ErrBuildType)
		}
	}
	if p.Source != nil {
		checkSource(r, p.Source, pv.ResolvedDependencies, pv.BuildType, pv.ExternalParameters)
	}
	if p.MaxAge > 0 {
		e.checkAge(r, pv)
	}
	if p.Materials.RequireDigests || p.Materials.RequireImageDigests {
		checkMaterials(r, p.Materials, pv.ResolvedDependencies)
	}
	for _, pr := range p.Parameters {
		checkParameter(r, pr, pv.ExternalParameters)
	}
}

func matchBuilder(rules []BuilderRule, id string) (string, bool) {
	for _, b := range rules {
		if len(b.Versions) == 0 {
			if id == b.ID {
				return b.ID, true
			}
			continue
		}
		base, version, ok := strings.Cut(id, "@")
		if !ok || base != b.ID {
			continue
		}
		for _, v := range b.Versions {
			if globMatch(v, version) {
				return b.ID + "@" + v, true
			}
		}
	}
	return "", false
}

func builderList(rules []BuilderRule) string {
	var s []string
	for _, b := range rules {
		if len(b.Versions) == 0 {
			s = append(s, b.ID)
		}
		for _, v := range b.Versions {
			s = append(s, b.ID+"@"+v)
		}
	}
	return strings.Join(s, " | ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkSource looks for a git material "<repository>@<ref>" with a
// gitCommit digest. A material without a ref in its URI takes the ref the
// build type's external parameters name (sourceParameters) when they name
// the same repository; the commit must still be a material's digest.
func checkSource(r *Result, s *SourceRule, deps []intoto.ResourceDescriptor, buildType string, params map[string]any) {
	want := s.Repository
	if len(s.Refs) > 0 {
		want += "@" + strings.Join(s.Refs, " | ")
	}
	wfRepo, wfRef, where := sourceParameters(buildType, params)
	wantRepo := gitRepository(s.Repository)
	var seen []string
	for _, d := range deps {
		g, ok := intoto.ParseGitURI(d.URI)
		if !ok {
			continue
		}
		seen = append(seen, d.URI)
		repo, ref := g.Repository, g.Ref
		got := d.URI
		if ref == "" && wfRef != "" && wfRepo != "" && gitRepository(wfRepo) == repo {
			ref = wfRef
			got += " (ref " + wfRef + " from externalParameters." + where + ")"
		}
		if repo != wantRepo || !intoto.Strong(intoto.AlgGitCommit, d.Digest[intoto.AlgGitCommit]) {
			continue
		}
		if len(s.Refs) == 0 {
			r.pass("source", want, got)
			return
		}
		for _, pat := range s.Refs {
			if ref != "" && globMatch(pat, ref) {
				r.pass("source", want, got)
				return
			}
		}
	}
	r.fail("source", want, strings.Join(seen, ", "), ErrSource)
}

// gitRepository normalizes a repository URI for comparison: scheme and
// host in lowercase, the path exact (intoto.ParseGitURI). A URI without
// the "git+" prefix (externalParameters.workflow.repository is written
// "https://...") gets it; one that does not parse stays as written.
func gitRepository(uri string) string {
	if g, ok := intoto.ParseGitURI(uri); ok {
		return g.Repository
	}
	if g, ok := intoto.ParseGitURI("git+" + uri); ok {
		return g.Repository
	}
	return uri
}

// sourceParameters maps a build type's external parameters to the source
// repository and ref they name, and says under which key:
//   - the GitHub Actions workflow types (SLSA's, GitHub's own, slsakit's for
//     other events): workflow.{repository,ref};
//   - Cloud Build's google-worker type: buildConfigSource.{repository,ref},
//     the ref only when it is a ref (it may be a commit);
//   - slsakit's GitLab CI, Buildkite, Jenkins and generic types:
//     source.{repository,ref};
//   - Tekton Chains' types: none (buildConfigSource there is where the
//     Task came from, not the source built);
//   - any other type: workflow.{repository,ref}, as before build types
//     were told apart.
func sourceParameters(buildType string, params map[string]any) (repo, ref, key string) {
	key = "workflow"
	switch buildType {
	case platform.CloudBuildBuildType:
		key = "buildConfigSource"
	case platform.GitLabCIBuildType, platform.BuildkiteBuildType, platform.JenkinsBuildType, platform.GenericBuildType:
		key = "source"
	case platform.TektonBuildType, platform.TektonBuildType + "-tekton":
		return "", "", ""
	}
	m, _ := params[key].(map[string]any)
	repo, _ = m["repository"].(string)
	ref, _ = m["ref"].(string)
	if !strings.HasPrefix(ref, "refs/") {
		ref = ""
	}
	return repo, ref, key
}

// checkMaterials applies the material rules. Images are told apart by
// intoto.ParseImage, whatever the spelling of their scheme, purl type or
// registry; a material that looks like an image but cannot be read as one
// is refused under either rule, as is one whose URI digest disagrees with
// its digest set: neither can be shown to be pinned.
func checkMaterials(r *Result, m MaterialRule, deps []intoto.ResourceDescriptor) {
	var bad []string
	for _, d := range deps {
		label := d.URI
		if label == "" {
			label = d.Name
		}
		img, err := intoto.ParseImage(d.URI, d.Digest)
		isImage := !errors.Is(err, intoto.ErrNotImage)
		switch {
		case isImage && err != nil:
			bad = append(bad, label+" ("+err.Error()+")")
		case m.RequireImageDigests && isImage && !img.Pinned():
			bad = append(bad, label+" (image without sha256 digest)")
		case m.RequireDigests && !d.Digest.HasStrong() && len(img.Digest) == 0:
			bad = append(bad, label+" (no strong digest)")
		}
	}
	want := "every image by sha256 digest"
	if m.RequireDigests {
		want = "every material with a strong digest"
	}
	if len(bad) > 0 {
		r.fail("materials", want, strings.Join(bad, ", "), ErrMaterial)
		return
	}
	r.pass("materials", want, fmt.Sprintf("%d materials pinned", len(deps)))
}

// lookup walks a dotted path through nested JSON objects.
func lookup(params map[string]any, path string) (any, bool) {
	var cur any = params
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func checkParameter(r *Result, rule ParameterRule, params map[string]any) {
	name := "parameter " + rule.Name
	v, present := lookup(params, rule.Name)
	got := "absent"
	if present {
		got = fmt.Sprintf("%v", v)
	}
	switch {
	case rule.Forbidden:
		if present {
			r.fail(name, "absent", got, ErrParameter)
		} else {
			r.pass(name, "absent", got)
		}
		return
	case !present:
		// Every rule that loads asks for presence (required, or a value
		// to match), so absence fails even if the rule was changed after
		// NewEngine validated it.
		r.fail(name, "present", got, ErrParameter)
		return
	}
	switch {
	case rule.Equals != nil:
		want := fmt.Sprintf("%v", rule.Equals)
		if jsonEqual(v, rule.Equals) {
			r.pass(name, want, got)
		} else {
			r.fail(name, want, got, ErrParameter)
		}
	case rule.OneOf != nil:
		want := fmt.Sprintf("one of %v", rule.OneOf)
		for _, o := range rule.OneOf {
			if jsonEqual(v, o) {
				r.pass(name, want, got)
				return
			}
		}
		r.fail(name, want, got, ErrParameter)
	case rule.Pattern != "":
		// re is compiled by validate; a pattern set afterwards has none,
		// and fails rather than passing unchecked.
		s, ok := v.(string)
		if ok && rule.re != nil && rule.re.MatchString(s) {
			r.pass(name, rule.Pattern, got)
		} else {
			r.fail(name, rule.Pattern, got, ErrParameter)
		}
	default:
		r.pass(name, "present", got)
	}
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// checkDependencies judges the image materials of pv with e.deps, adding
// to reach the images that lead to. Each image is fetched and judged once
// per walk; meeting it again (a diamond) reuses the verdict, unless its
// dependencies lead back to the path here (a cycle).
func (e *Engine) checkDependencies(ctx context.Context, w *walk, r *Result, rep *Report, pv *provenance.Provenance, path []string, reach *bitset) {
	maxDepth := e.maxDepth
	images := 0
	for _, m := range pv.ResolvedDependencies {
		if _, err := intoto.ParseImage(m.URI, m.Digest); !errors.Is(err, intoto.ErrNotImage) {
			images++
		}
	}
	if images > w.b.ImageMaterials {
		r.fail("dependencies", fmt.Sprintf("at most %d image materials", w.b.ImageMaterials), fmt.Sprint(images),
			fmt.Errorf("%w: %w", ErrDependency, &BudgetError{Limit: "ImageMaterials", Budget: w.b}))
		return
	}
	for _, m := range pv.ResolvedDependencies {
		img, err := intoto.ParseImage(m.URI, m.Digest)
		if errors.Is(err, intoto.ErrNotImage) {
			continue
		}
		name := "dependency " + m.URI
		loc := img.Location()
		digest := img.Digest[intoto.AlgSHA256]
		switch {
		case err != nil:
			r.fail(name, "a readable image reference", m.URI, fmt.Errorf("%w: %w", ErrDependency, err))
			continue
		case loc == "":
			r.fail(name, "a registry location", m.URI, fmt.Errorf("%w: cannot locate %q to fetch its attestations", ErrDependency, m.URI))
			continue
		case !img.Pinned():
			r.fail(name, "a sha256 digest", m.Digest.String(), fmt.Errorf("%w: image material not pinned", ErrDependency))
			continue
		case len(path) > maxDepth:
			r.skip(name, fmt.Sprintf("beyond dependencies.maxDepth %d", maxDepth))
			continue
		}
		if err := w.live(ctx); err != nil {
			r.fail(name, "verified before the evaluation stops", "stopped", fmt.Errorf("%w: %w", ErrDependency, err))
			return
		}
		if err := w.spend(&w.deps, 1, w.b.Dependencies, "Dependencies"); err != nil {
			r.fail(name, "verified within the budget", "stopped", fmt.Errorf("%w: %w", ErrDependency, err))
			return
		}
		if contains(path, digest) {
			reach.add(w.id(digest))
			r.fail(name, "no cycle", digest, fmt.Errorf("%w: cycle: %s is its own dependency", ErrDependency, loc))
			continue
		}
		image := loc + "@sha256:" + digest
		key := judgedKey{e: e.deps, name: loc, digest: digest}
		if j := w.judgement(key, len(path)); j != nil {
			if j.err == nil {
				if back := w.onPath(j.reach, path); back != "" {
					r.fail(name, "no cycle", digest, fmt.Errorf("%w: cycle: the dependencies of %s lead back to sha256:%s, which depends on it", ErrDependency, image, back))
					continue
				}
				reach.union(j.reach)
			}
			rep.Dependencies = append(rep.Dependencies, &Report{
				Artifact: j.rep.Artifact, Rule: j.rep.Rule, Checks: slices.Clone(j.rep.Checks), Reused: j.rep,
			})
			if j.err != nil {
				r.fail(name, "passes the dependency policy", "fails (judged before)", &dependencyError{image: image, err: j.err})
				continue
			}
			r.pass(name, "passes the dependency policy", "passes (judged before)")
			continue
		}
		atts, err := w.fetch(ctx, e.fetch, image)
		if err != nil {
			r.fail(name, "its attestations", err.Error(), fmt.Errorf("%w: fetch %s: %w", ErrDependency, image, err))
			if w.stopped != nil {
				return
			}
			continue
		}
		child := &visit{path: append(path[:len(path):len(path)], digest)}
		child.reach.add(w.id(digest))
		crep, err := e.deps.evaluate(ctx, w, intoto.ResourceDescriptor{Name: loc, Digest: intoto.DigestSet{intoto.AlgSHA256: digest}}, atts, child)
		rep.Dependencies = append(rep.Dependencies, crep)
		if w.stopped == nil {
			// A verdict reached while stopping says nothing about the
			// image, and nothing will ask again anyway.
			w.remember(key, &judgement{depth: len(path), rep: crep, err: err, reach: child.reach})
		}
		if err != nil {
			r.fail(name, "passes the dependency policy", "fails", &dependencyError{image: image, err: err})
			if w.stopped != nil {
				return
			}
			continue
		}
		reach.union(child.reach)
		r.pass(name, "passes the dependency policy", "passes")
	}
}

// dependencyError says in one line that a dependency failed (its report
// has the details) and unwraps to ErrDependency and the dependency's own
// errors, so errors.Is finds e.g. ErrBuilder of a base image.
type dependencyError struct {
	image string
	err   error
}

func (e *dependencyError) Error() string {
	return fmt.Sprintf("%v: %s fails its policy (see its report)", ErrDependency, e.image)
}

func (e *dependencyError) Unwrap() []error { return []error{ErrDependency, e.err} }
