package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/slsakit/slsakit/provenance"
)

// weakDigests never count towards a subject match on their own: a collision
// in them is within an attacker's reach.
var weakDigests = map[string]bool{"md5": true, "sha1": true}

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
		for _, name := range statementChecks[1:] {
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

func checkSubject(r *Result, st *provenance.Statement, want provenance.DigestSet) {
	if len(want) == 0 {
		r.skip("subject", "not required")
		return
	}
	norm := make(provenance.DigestSet, len(want))
	strong := false
	for alg, hex := range want {
		norm[alg] = strings.ToLower(hex)
		strong = strong || !weakDigests[alg]
	}
	if !strong {
		r.fail("subject", norm.String(), "", fmt.Errorf("%w: expected digest uses only weak algorithms (md5, sha1)", ErrSubject))
		return
	}
	for _, sub := range st.Subjects {
		if sub.Digest.Matches(norm) && sharesStrong(sub.Digest, norm) {
			r.pass("subject", norm.String(), fmt.Sprintf("%s %s", sub.Name, sub.Digest))
			return
		}
	}
	r.fail("subject", norm.String(), subjectsSummary(st.Subjects), ErrSubject)
}

func sharesStrong(a, b provenance.DigestSet) bool {
	for alg := range a {
		if _, ok := b[alg]; ok && !weakDigests[alg] {
			return true
		}
	}
	return false
}

func subjectsSummary(subs []provenance.ResourceDescriptor) string {
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
func DigestOfFile(ctx context.Context, path string) (provenance.DigestSet, error) {
	d, _, err := provenance.HashFile(ctx, path)
	return d, err
}

// DigestOfReader hashes a stream (sha256) for Expectations.SubjectDigest.
func DigestOfReader(r io.Reader) (provenance.DigestSet, error) {
	d, _, err := provenance.HashReader(r)
	return d, err
}
