// Package e2e holds the end-to-end tests of slsakit's OCI attestations
// against real processes: a distribution registry and the cosign CLI
// (v2.6.5 and v3.1.3), all built from the Go module proxy by
// .ci/install-tools.
//
// The tests find the tools through SLSAKIT_REGISTRY_BIN, SLSAKIT_COSIGN_V2
// and SLSAKIT_COSIGN_V3 (source .tools/env). Without them they skip, except
// under CI=true, where they fail.
//
// Nothing here reaches the network beyond 127.0.0.1: cosign runs with an
// empty HOME and an unreachable HTTP(S) proxy, so any attempt to contact the
// public Sigstore infrastructure (TUF, Rekor, Fulcio) fails at once.
// Key-based verification without a log needs --insecure-ignore-tlog=true;
// cosign v3 attest also needs --use-signing-config=false (its default
// fetches a signing config from TUF). cosign v2.6.5 verify-attestation
// always tries to fetch the TUF trusted root and only warns when it cannot.
package e2e
