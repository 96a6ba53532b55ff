// Package slsakit is a Go SDK for software supply-chain security: build tools
// use it to say, verifiably, what they built from what.
//
// The work is split into one noun per package, and data flows one way:
//
//   - provenance records what a build used (source commit, Go modules, base
//     images by digest, files, tools) and made (subjects with digests), and
//     produces an in-toto Statement v1 carrying SLSA Provenance v1. It also
//     reads older (SLSA v0.2, Statement v0.1) attestations into one read view.
//   - sbom produces SPDX 2.3 and CycloneDX 1.6 SBOMs for Go builds, as in-toto
//     statements.
//   - sign holds the Signer seam and DSSE envelopes, and the file-key signer;
//     kms adds GCP Cloud KMS and an adapter for any sigstore KMS.
//   - oci attaches attestations to images and fetches them back, in the OCI
//     1.1 referrers layout (cosign v3) and cosign's legacy .att layout.
//   - verify checks signatures (keys and thresholds) and statements (subject
//     digest, predicate type, builder, build type) and says which check failed.
//
// Public test kits sit beside the packages they test: sign/signtest,
// oci/ocitest and kms/kmstest.
//
// Start with examples/quickstart: go run ./examples/quickstart
package slsakit
