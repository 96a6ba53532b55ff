// Package intoto holds the in-toto statement, subject and digest rules that
// provenance, sbom, sign, oci and verify share. It depends on nothing but
// the standard library.
//
// Statements: CheckStatement says whether bytes are an in-toto Statement
// (v1 or v0.1) a verifier can read; sign signs and oci attaches nothing
// else. A ResourceDescriptor is what a statement is about (its subjects)
// and what a build used or made (materials, byproducts); Validate holds it
// to the specification and to this package's digest rules.
//
// Digests: a DigestSet maps an algorithm name to its value, as in the
// in-toto digest-set specification. One table in this package knows every
// algorithm slsakit recognizes, the hex lengths its values may have, and
// whether a value counts as strong: only a strong value (sha256, sha384,
// sha512, the SHA-3 family, git object ids, dirHash, ...) ever pins an
// artifact or material, or matches a subject. A name counts only in its
// canonical spelling: "SHA256", "sha-256" or "sha256 " are never sha256,
// and a set that holds such a spelling of a known algorithm does not
// validate, because two readers could read it differently.
//
// Names: ParseImage classifies the URIs of resource descriptors that name
// container images (oci://, docker://, pkg:docker/, pkg:oci/, in any
// case, since schemes, purl types and registry hosts are case-insensitive)
// into a registry, a repository and the digest that pins them; a URI that
// looks like an image but cannot be read is an error, never "not an
// image". ParseGitURI does the same for git+<scheme>:// source URIs.
package intoto
