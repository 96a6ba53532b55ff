// Package sigstore holds the end-to-end tests of keyless signing against
// the real Sigstore services (internal/sigstack: Fulcio, the timestamp
// authority, Rekor v1 on Trillian and Rekor v2), with the slsakit CLI on
// one side and cosign v2.6.5 / v3.1.3 on the other.
//
// One stack serves the whole package (started by the first test that needs
// it, stopped in TestMain). The binaries come from .tools/env (run
// .ci/install-tools and source it); without them the tests skip, unless
// SLSAKIT_REQUIRE_SIGSTACK=1 (the services) or CI=true (cosign).
//
// cosign runs hermetically (empty HOME, no TUF cache, an unreachable proxy
// for anything beyond loopback): it is given the stack's trusted root
// (--trusted-root) and, to sign, its signing config (v3) or the service
// URLs (v2). Fulcio runs without a CT log, so verifiers are told to expect
// no SCT (cosign: --insecure-ignore-sct).
package sigstore
