package verify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/platform"
)

// What a signer rule's BindToProvenance can bind: each names a pair of
// facts, one certified by Fulcio, one claimed by the provenance, that must
// be equal.
const (
	// BindBuilder: the certificate's build signer URI (Fulcio extension
	// 1.9) equals the provenance's runDetails.builder.id, exactly.
	BindBuilder = "builder"
	// BindSource: the certificate's source repository URI (1.12) and
	// digest (1.13) equal the repository and commit of the provenance's
	// source material.
	BindSource = "source"
	// BindRef: the certificate's source repository ref (1.14) equals the
	// ref of the provenance's source material.
	BindRef = "ref"
	// BindTrigger: the certificate's build trigger (1.20) equals the
	// event the provenance says started the build.
	BindTrigger = "trigger"
)

// bindings are the values BindToProvenance may hold, in the order the
// checks are made.
var bindings = []string{BindBuilder, BindSource, BindRef, BindTrigger}

// ErrBinding: the signing certificate and the provenance it signed
// disagree on something a signer rule binds (BindToProvenance), or one of
// them does not state it, or the provenance was not signed with a
// certificate at all. The error is a *BindingError.
var ErrBinding = errors.New("verify: certificate not bound to provenance")

// maxBoundValue bounds each value a BindingError quotes: both sides are
// attacker data (a certificate extension, a provenance field), and a
// report must not carry megabytes of either.
const maxBoundValue = 256

// BindingError says which bound fact disagrees and what each side says
// (bounded to a few hundred bytes each and quoted when printed). A side
// that does not state the fact is "". It unwraps to ErrBinding.
type BindingError struct {
	// Field is the fact: "certificate", "builder", "source repository",
	// "source digest", "ref" or "trigger".
	Field string
	// Certificate is the certificate's value, and CertificateField the
	// Fulcio extension it comes from (e.g. "buildSignerURI").
	Certificate, CertificateField string
	// Provenance is the provenance's value, and ProvenanceField where in
	// the provenance it comes from (e.g. "runDetails.builder.id").
	Provenance, ProvenanceField string
	// Reason says why they do not bind when it is not a plain mismatch
	// (a side is missing, two materials disagree, no certificate).
	Reason string
}

func (e *BindingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s", ErrBinding, e.Field)
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	var sides []string
	if e.CertificateField != "" {
		sides = append(sides, "certificate "+e.CertificateField+" "+quoteOrNone(e.Certificate))
	}
	// A provenance that states the fact several times has no one value:
	// the reason lists them.
	if e.ProvenanceField != "" && (e.Provenance != "" || !strings.Contains(e.Reason, "more than once")) {
		sides = append(sides, "provenance "+e.ProvenanceField+" "+quoteOrNone(e.Provenance))
	}
	if len(sides) > 0 {
		b.WriteString(" (" + strings.Join(sides, ", ") + ")")
	}
	return b.String()
}

func (e *BindingError) Unwrap() error { return ErrBinding }

// bounded cuts an attacker-supplied value to maxBoundValue bytes, on a
// rune boundary, marking the cut.
func bounded(s string) string {
	if len(s) <= maxBoundValue {
		return s
	}
	cut := maxBoundValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// checkBinding checks, for each signer of a trusted provenance, each fact
// binds asks for. Every signer must be a certificate: a key signature
// certifies no builder, source or trigger, so it cannot bind. A fact a
// side does not state fails: a binding never passes for want of
// something to compare.
func checkBinding(r *Result, binds []string, signers []Signer, pv *provenance.Provenance) {
	if len(signers) == 0 {
		r.fail("binding", "a certificate", "no signer", &BindingError{Field: "certificate", Reason: "the provenance has no signer to bind"})
		return
	}
	src := provenanceSource(pv)
	for _, s := range signers {
		if s.Identity == nil {
			r.fail("binding", "a certificate", "key "+bounded(s.KeyID),
				&BindingError{Field: "certificate", Reason: "signed with key " + quoteOrNone(bounded(s.KeyID)) + ", not a certificate: a key certifies no builder, source or trigger"})
			continue
		}
		id := s.Identity
		for _, b := range bindings {
			if !slices.Contains(binds, b) {
				continue
			}
			switch b {
			case BindBuilder:
				bindEqual(r, "builder", id.BuildSignerURI, "buildSignerURI", []string{pv.BuilderID}, "runDetails.builder.id", nil)
			case BindSource:
				repo, _ := certRepository(id.SourceRepositoryURI)
				bindEqual(r, "source repository", repo, "sourceRepositoryURI", src.repos, "resolvedDependencies", src.err)
				bindEqual(r, "source digest", normalizeCommit(id.SourceRepositoryDigest), "sourceRepositoryDigest", src.commits, "resolvedDependencies", src.err)
			case BindRef:
				bindEqual(r, "ref", id.SourceRepositoryRef, "sourceRepositoryRef", src.refs, src.refWhere, src.err)
			case BindTrigger:
				trig, where := provenanceTrigger(pv)
				var stated []string
				if trig != "" {
					stated = []string{trig}
				}
				bindEqual(r, "trigger", id.BuildTrigger, "buildTrigger", stated, where, nil)
			}
		}
	}
}

// bindEqual records the binding check of one fact: the certificate's
// value cert must be non-empty, the provenance must state the fact exactly
// once (stated holds its distinct values), and the two must be equal. why,
// when set, is why the provenance's value could not be found at all.
func bindEqual(r *Result, field, cert, certField string, stated []string, where string, why error) {
	name := "binding " + field
	e := &BindingError{Field: field, Certificate: bounded(cert), CertificateField: certField, ProvenanceField: where}
	if len(stated) > 0 {
		e.Provenance = bounded(stated[0])
	}
	switch {
	case cert == "":
		e.Reason = "the certificate does not state it"
	case why != nil:
		e.Reason = why.Error()
	case len(stated) == 0:
		e.Reason = "the provenance does not state it"
	case len(stated) > 1:
		q := make([]string, len(stated))
		for i, s := range stated {
			q[i] = quoteOrNone(bounded(s))
		}
		e.Provenance = ""
		e.Reason = "the provenance states it more than once, differently: " + strings.Join(q, ", ")
	case stated[0] != cert:
		// A plain mismatch: the fields say it all.
	default:
		r.pass(name, bounded(cert), bounded(stated[0]))
		return
	}
	r.fail(name, e.Certificate, e.Provenance, e)
}

// boundSource is what a provenance says of its source: the distinct
// values among its source materials (more than one of anything is a
// disagreement, which fails the binding of that fact).
type boundSource struct {
	repos, commits, refs []string
	refWhere             string
	err                  error // no source material at all
}

// provenanceSource finds the provenance's source material and reads it.
//
// The source materials are the resolvedDependencies that are git URIs
// (intoto.ParseGitURI: "git+<scheme>://host/path[@refs/...]"). When the
// build type's external parameters name the source repository (the ones
// the policy's source rule reads, sourceParameters: workflow.repository
// for GitHub Actions, source.repository for slsakit's GitLab CI,
// Buildkite, Jenkins and generic types, buildConfigSource.repository for
// Cloud Build), only the git materials of that repository are; otherwise
// every git material is. They are not chosen by the certificate's
// repository: a provenance that lists the certified repository next to
// another would then bind, and a source rule could pass on the other one.
//
// Normalization, on both sides: a repository is compared as
// intoto.ParseGitURI reads it (scheme and host in lowercase, path, user
// info and port exactly; the certificate's https URI gains "git+"), so a
// case variant of the path is another repository; a commit is the
// material's gitCommit or sha1 digest (both, when both are given, must
// agree), in lowercase, 40 or 64 hex digits; a ref is the "@refs/..." of
// the material's URI, or, for a material without one, the ref the
// external parameters name for the same repository (both, when given,
// must agree). Every distinct value found is kept: two that differ mean
// the provenance states its source twice, differently, and nothing
// binds.
func provenanceSource(pv *provenance.Provenance) boundSource {
	wfRepo, wfRef, key := sourceParameters(pv.BuildType, pv.ExternalParameters)
	if wfRepo != "" {
		wfRepo = gitRepository(wfRepo)
	}
	var s boundSource
	s.refWhere = "resolvedDependencies"
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	found := false
	for _, d := range pv.ResolvedDependencies {
		g, ok := intoto.ParseGitURI(d.URI)
		if !ok || wfRepo != "" && g.Repository != wfRepo {
			continue
		}
		found = true
		add(&s.repos, g.Repository)
		for _, alg := range []string{intoto.AlgGitCommit, "sha1"} {
			if c, ok := d.Digest[alg]; ok {
				add(&s.commits, normalizeCommit(c))
			}
		}
		if g.Ref != "" {
			add(&s.refs, g.Ref)
		}
	}
	switch {
	case !found && wfRepo != "":
		s.err = fmt.Errorf("no git material of the repository externalParameters.%s.repository names (%q)", key, bounded(wfRepo))
	case !found:
		s.err = errors.New("no git material among resolvedDependencies")
	}
	if found && wfRepo != "" && wfRef != "" {
		add(&s.refs, wfRef)
		s.refWhere = "resolvedDependencies and externalParameters." + key + ".ref"
	}
	return s
}

// certRepository is the certificate's source repository URI in the form
// of a git material's repository. A URI with a ref in it is not a
// repository, and is kept as written so that it matches none.
func certRepository(uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	if g, ok := intoto.ParseGitURI("git+" + uri); ok && g.Ref == "" {
		return g.Repository, true
	}
	return uri, false
}

// normalizeCommit lowercases a commit of 40 or 64 hex digits; anything
// else is kept as written (and quoted in errors) so that it equals no
// well-formed commit.
func normalizeCommit(c string) string {
	if len(c) != 40 && len(c) != 64 {
		return c
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return c
		}
	}
	return strings.ToLower(c)
}

// githubBuildType is GitHub's own build type for Actions workflows
// (actions/attest-build-provenance), which states the trigger where the
// SLSA GitHub Actions type does.
const githubBuildType = "https://actions.github.io/buildtypes/workflow/v1"

// provenanceTrigger returns the event that started the build, where the
// build type states it, and where that is:
//   - the GitHub Actions types (SLSA's, GitHub's, slsakit's for other
//     events): internalParameters.github.event_name;
//   - slsakit's GitLab CI type: externalParameters.pipelineSource (what
//     Fulcio certifies as GitLab's trigger).
//
// Other build types state no trigger this package can read, and a trigger
// binding fails for them.
func provenanceTrigger(pv *provenance.Provenance) (string, string) {
	var v any
	var where string
	switch pv.BuildType {
	case platform.GitHubWorkflowBuildType, platform.GitHubEventBuildType, githubBuildType:
		where = "internalParameters.github.event_name"
		v, _ = lookup(pv.InternalParameters, "github.event_name")
	case platform.GitLabCIBuildType:
		where = "externalParameters.pipelineSource"
		v, _ = lookup(pv.ExternalParameters, "pipelineSource")
	default:
		return "", "buildType " + quoteOrNone(bounded(pv.BuildType)) + " (states no trigger)"
	}
	s, _ := v.(string)
	return s, where
}
