package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
)

// checkStatement parses the (authenticated) payload and compares it with
// want; maxSize bounds the payload. Each expectation left empty is reported
// as skipped.
func checkStatement(r *Result, payload []byte, want Expectations, maxSize int) {
	st, err := provenance.Parse(payload, provenance.WithMaxSize(int64(maxSize)))
	if err != nil {
		sentinel := ErrMalformed
		switch {
		case errors.Is(err, provenance.ErrTooLarge):
			sentinel = ErrTooLarge
		case errors.Is(err, provenance.ErrUnsupportedPredicate):
			sentinel = ErrPredicateType
		}
		r.fail("statement", "", "", fmt.Errorf("%w: %w", sentinel, err))
		for _, name := range statementChecks[2:] {
			r.skip(name, "statement unreadable")
		}
		return
	}
	r.Statement = st
	got := st.Type
	if len(st.Normalized) > 0 {
		got += " (normalized: " + strings.Join(st.Normalized, "; ") + ")"
	}
	r.pass("statement", "", got)

	exact(r, "predicateType", want.PredicateType, st.PredicateType, ErrPredicateType)
	checkSubject(r, st, want.SubjectDigest)

	var builder, buildType string
	if st.Provenance != nil {
		builder, buildType = st.Provenance.BuilderID, st.Provenance.BuildType
	}
	if (want.BuilderID != "" || want.BuildType != "") && st.Provenance == nil {
		err := fmt.Errorf("%w: predicate %q is not SLSA provenance", ErrPredicateType, st.PredicateType)
		if want.BuilderID != "" {
			r.fail("builder", want.BuilderID, "", errors.Join(ErrBuilder, err))
		}
		if want.BuildType != "" {
			r.fail("buildType", want.BuildType, "", errors.Join(ErrBuildType, err))
		}
		return
	}
	exact(r, "builder", want.BuilderID, builder, ErrBuilder)
	exact(r, "buildType", want.BuildType, buildType, ErrBuildType)
}

// exact compares two strings byte for byte: no case folding, no prefix or
// trailing-slash leniency.
func exact(r *Result, name, want, got string, sentinel error) {
	switch {
	case want == "":
		r.skip(name, "not required")
	case want == got:
		r.pass(name, want, got)
	default:
		r.fail(name, want, got, sentinel)
	}
}

// checkSubject looks for a subject that names the expected artifact:
// intoto's strict match (both sets valid, agreeing on every shared
// algorithm, sharing a strong one), so weak, unknown or differently
// spelled algorithms never make a match.
func checkSubject(r *Result, st *provenance.Statement, want intoto.DigestSet) {
	if len(want) == 0 {
		r.skip("subject", "not required")
		return
	}
	norm, err := expectedDigest(want)
	if err != nil {
		r.fail("subject", "a strong expected digest", want.String(), err)
		return
	}
	for _, sub := range st.Subjects {
		if sub.Digest.MatchesStrong(norm) {
			r.pass("subject", norm.String(), fmt.Sprintf("%s %s", sub.Name, sub.Digest))
			return
		}
	}
	r.fail("subject", norm.String(), subjectsSummary(st.Subjects), ErrSubject)
}

// expectedDigest checks the digest a caller expects an artifact to have.
// Hex values are lowercased (callers copy digests from tools that print
// them in uppercase); algorithm names are not, so "SHA256" stays a
// look-alike. The set must validate and hold a strong entry: an
// expectation that weak or unknown algorithms could meet is none.
func expectedDigest(want intoto.DigestSet) (intoto.DigestSet, error) {
	norm := want
	for _, hex := range want {
		if hex != strings.ToLower(hex) { // copy only when there is something to lowercase
			norm = make(intoto.DigestSet, len(want))
			for alg, hex := range want {
				norm[alg] = strings.ToLower(hex)
			}
			break
		}
	}
	if err := norm.Validate(); err != nil {
		return nil, fmt.Errorf("%w: expected digest: %w", ErrSubject, err)
	}
	if !norm.HasStrong() {
		return nil, fmt.Errorf("%w: expected digest %v has no strong algorithm (sha256, sha384, sha512, sha3_*, gitCommit, dirHash, ...)", ErrSubject, norm)
	}
	return norm, nil
}

func subjectsSummary(subs []intoto.ResourceDescriptor) string {
	const max = 3
	parts := make([]string, 0, max+1)
	for i, s := range subs {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(subs)-max))
			break
		}
		parts = append(parts, s.Name+" "+s.Digest.String())
	}
	return strings.Join(parts, ", ")
}

// DigestOfFile hashes a file (sha256) for Expectations.SubjectDigest.
func DigestOfFile(ctx context.Context, path string) (intoto.DigestSet, error) {
	d, err := provenance.HashFile(ctx, path)
	return d, err
}

// DigestOfReader hashes a stream (sha256) for Expectations.SubjectDigest.
func DigestOfReader(r io.Reader) (intoto.DigestSet, error) {
	d, err := provenance.HashReader(r)
	return d, err
}
