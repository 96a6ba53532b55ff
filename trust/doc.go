// Package trust obtains trust anchors through The Update Framework (TUF)
// instead of hand-copied files.
//
// TrustedRoot runs a TUF client (sigstore-go's, on go-tuf v2) against the
// public-good Sigstore repository with its embedded root, or against a
// private mirror with the root.json given for it, and returns the
// trusted_root.json target it verified. Metadata is cached on disk: once
// the cache holds unexpired metadata, a run without network uses it, so
// offline verification keeps working until the cached timestamp expires.
// A failed security check (expired or rolled-back metadata, bad signatures,
// a target that does not match its hashes) is never papered over with the
// cache: it is an error.
//
// Delegations reads per-subproject signer rules from a TUF repository
// whose targets role delegates artifact name patterns to subproject roles
// (the Kubernetes plan: the project root delegates, each subproject owns
// its signing keys and identities). A subproject adds trust only for the
// names its delegation covers; revoking the delegation revokes the trust.
// Give the rules to verify.WithSigners.
package trust
