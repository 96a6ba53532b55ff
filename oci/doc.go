// Package oci attaches in-toto attestations (a sign.Attestation: the DSSE
// envelope and, when signed keyless, its Sigstore bundle) to container
// images in a registry and lists them back, in the layouts cosign and other
// tools read:
//
//   - Referrers (default; cosign v3): an OCI 1.1 referrer manifest whose
//     subject is the image, artifactType
//     application/vnd.dev.sigstore.bundle.v0.3+json, the empty config "{}",
//     one layer holding a Sigstore bundle v0.3 with the DSSE envelope and
//     its verification material, and the annotations cosign v3 writes
//     (dev.sigstore.bundle.content, dev.sigstore.bundle.predicateType,
//     org.opencontainers.image.created). On registries without the
//     referrers API the referrers tag schema ("sha256-<hex>" index) is
//     maintained as the OCI distribution spec requires.
//   - Legacy (cosign v2): the tag "sha256-<hex>.att", one
//     application/vnd.dsse.envelope.v1+json layer per attestation with the
//     annotations dev.cosignproject.cosign/signature and predicateType.
//
// Attach publishes only what a consumer of the image can accept: a signed
// in-toto envelope whose statement passes intoto.CheckStatement and names
// the image's digest among its subjects; anything else is refused before
// the first write (ErrNotAttestation, ErrSubjectMismatch). It resolves the
// image reference to a digest once; every write names that digest, never
// the caller's tag. Blobs are uploaded before the
// manifests that name them. Tag updates (the .att tag and the referrers
// tag index) are read-modify-write: attaches to one image are serialized
// within the process, and across processes each writer reads its write
// back after a short settle delay and re-merges everything it has seen
// until a read-back holds its attestation and everyone else's and shows no
// writer it had not seen (one routine for both tags), with bounded retries
// (ErrConflict when exhausted). Attaching the same envelope again writes
// nothing.
//
// Requests are few: authentication is lazy (no ping; a token is fetched
// only after a 401), small blobs use single-POST uploads, and the empty
// config is uploaded only when the repository has no bundle referrer yet.
// Every request is retried with exponential backoff and full jitter on
// 429, 5xx and network errors, and honours the context.
//
// List reads both layouts, skips entries whose annotations rule them out
// before downloading them, refuses an image with more attestations in a
// layout than WithMaxAttestations before downloading any (ErrTooMany),
// reads each object up to the size its descriptor declares and no more
// than the caps (ErrTooLarge), checks every size and digest, and parses
// envelopes with sign.ParseEnvelope and bundles with sign.ParseBundle;
// Fetch returns the same as sign.Attestations. A referrers list
// the registry pages (Link rel="next") is read whole, following links on
// the registry's own scheme and host only, within WithMaxReferrers (64
// pages, 10,000 descriptors by default) and the manifest size cap for all
// pages together (ErrTooMany, ErrTooLarge); Attach reads it the same way. It verifies no
// signature: hand the attestations to a verifier.
//
// Image signatures: Sign signs an image as `cosign sign` does, in cosign
// v2's "sha256-<hex>.sig" tag (a simple-signing payload layer with the
// signature, and certificate and chain for a certificate signer, in its
// annotations) and/or as a cosign v3 referrer (a Sigstore bundle of an
// in-toto statement with predicate type PredicateCosignSign); the .sig tag
// is updated with the same lost-update-safe read-modify-write as the .att
// tag. ListSignatures reads both back, bounded like List; verify checks
// them.
//
// Image indexes: ReadIndex reads a multi-platform index within the
// manifest size cap and WithMaxIndexEntries; WithPlatform("linux/arm64")
// makes List, Fetch, Attach and ResolveImage work on that platform's
// manifest (ErrNotIndex, ErrNoPlatform); WithRecursive makes Attach write
// to the index and every platform manifest, checking first that the
// statement names them all. Resolver.ResolvePlatforms gives provenance
// the index and platform digests to record. AttachAll attaches a whole
// release, every image concurrently with at most WithConcurrency requests
// in flight (an image settling before a read-back holds none), each
// through Attach, and reports every failed image in one *AttachAllError.
//
// Plain HTTP is used only with WithInsecure. Credentials come from
// authn.DefaultKeychain (docker config, credential helpers) unless
// WithAuth or WithKeychain says otherwise; package oci/keychain adds
// GITHUB_TOKEN, Google credentials and mounted Kubernetes pull secrets.
// They are sent only to the registry's own origin (scheme, host, port),
// answering only its own challenges: never along a redirect to blob
// storage, to an upload Location elsewhere or to a realm another host
// names. Errors never hold them: what registries and token servers answer
// is scrubbed of every credential sent.
//
// The ocitest package starts an in-process registry for tests.
package oci
