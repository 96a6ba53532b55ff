// Package provenance records what a build used and produced and emits an
// in-toto Statement v1 carrying a SLSA Provenance v1 predicate; it also
// reads statements back (v1 and v0.1, SLSA provenance v1 and v0.2) into one
// read view for consumers.
//
// # Recording
//
// A Recorder is safe for concurrent use by a build's goroutines:
//
//	rec := provenance.NewRecorder(provenance.Builder{ID: "https://example.com/builder"},
//		"https://example.com/buildtypes/go@v1")
//	rec.Start()
//	_ = rec.SetExternalParameter("target", "./cmd/app")
//	git, _ := provenance.GitMaterial(ctx, ".")
//	_ = rec.AddMaterial(git)
//	_ = rec.AddSubjectDir(ctx, "dist")
//	rec.Finish()
//	stmt, err := rec.MarshalStatement()
//
// Output is deterministic: subjects are sorted by name, materials and
// byproducts by URI, name and digest, duplicates are dropped, and the JSON
// is compact with sorted map keys, so the same inputs give the same bytes.
//
// # Digests
//
// Subjects are hashed by streaming in constant memory: SHA-256 always,
// SHA-512 on request (WithSHA512), in one pass. Directory trees use the
// in-toto "dirHash" algorithm (Go's dirhash Hash1 in hex). Go module sums
// ("h1:") are recorded as dirHash, never as sha256: an h1 sum is a tree hash
// of the module's files, not the SHA-256 of anything a user downloads.
// Directory walks go through os.Root: a symlink that leaves the directory
// is an error (ErrSymlinkEscape), never followed.
//
// # Materials
//
// GitMaterial (commit, remote as git+https without credentials, ref, dirty
// flag), GoModules and GoModulesFromBinary (purls with h1 sums, replacements
// reported as used), FileMaterial, DirMaterial, URIMaterial and
// ImageMaterial (an OCI image must be pinned by digest; a tag-only reference
// is ErrUnpinnedImage unless an ImageResolver is given).
//
// # Reading
//
// Parse checks size and strict JSON (no duplicate keys, no keys that differ
// only in case, '_' or '-', nothing else two JSON readers read
// differently) before reading, and
// returns a Statement view whose Normalized field lists every liberty it
// took, such as cosign v2.6.5's "invocationID" spelling or a v0.2 predicate
// mapped onto the v1 view. WithStrictV1 accepts canonical v1 only.
//
// # Build platforms
//
// Subpackage platform reads the builder ID, build type, invocation,
// source and parameters from the CI platform running the build (GitHub
// Actions, GitLab CI, Cloud Build, Tekton, Buildkite, Jenkins) and returns
// a Recorder filled with them; see its documentation.
//
// Errors wrap the sentinel errors of this package; test with errors.Is.
package provenance
