// Package trust obtains Sigstore trust anchors through The Update
// Framework (TUF) instead of a hand-copied trusted_root.json.
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
package trust
