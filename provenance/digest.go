package provenance

import "github.com/slsakit/slsakit/intoto"

// The digest rules live in package intoto, shared with sbom and verify;
// these names keep provenance's API until its redesign.

// DigestSet maps an in-toto digest algorithm name (sha256, sha512,
// gitCommit, dirHash, ...) to its lowercase hex value. See intoto.DigestSet.
type DigestSet = intoto.DigestSet

// ResourceDescriptor is intoto.ResourceDescriptor.
type ResourceDescriptor = intoto.ResourceDescriptor

// Subject is an artifact the build produced: a ResourceDescriptor; the
// Recorder requires a non-empty Name and Digest for subjects and keeps one
// subject per name.
type Subject = intoto.ResourceDescriptor

// ErrInvalidDescriptor is intoto.ErrInvalidDescriptor.
var ErrInvalidDescriptor = intoto.ErrInvalidDescriptor

// Statement types: intoto.StatementTypeV1 and intoto.StatementTypeV01.
const (
	StatementTypeV1  = intoto.StatementTypeV1
	StatementTypeV01 = intoto.StatementTypeV01
)

// ErrInvalidDigest is wrapped by errors about malformed digests. It is
// intoto.ErrInvalidDigest, so either matches with errors.Is.
var ErrInvalidDigest = intoto.ErrInvalidDigest

// Well-known in-toto digest-set algorithm names used by this package.
const (
	// AlgSHA256 is SHA-256 of the artifact bytes.
	AlgSHA256 = intoto.AlgSHA256
	// AlgSHA512 is SHA-512 of the artifact bytes.
	AlgSHA512 = intoto.AlgSHA512
	// AlgGitCommit is the hex id of a git commit object.
	AlgGitCommit = intoto.AlgGitCommit
	// AlgDirHash is Go's dirhash "h1" tree hash in lowercase hex; see
	// intoto.AlgDirHash.
	AlgDirHash = intoto.AlgDirHash
	// AlgGoModuleH1 is the in-toto v0.1 name of AlgDirHash, accepted when
	// parsing.
	AlgGoModuleH1 = intoto.AlgGoModuleH1
)
