// Package sigstack runs the real Sigstore services on loopback for tests:
// Fulcio (ephemeral CA, no CT log), the RFC 3161 timestamp authority
// (in-memory signer), Rekor v2 (rekor-tiles, POSIX storage) and Rekor v1
// (on Trillian on MariaDB), each a child process bound to 127.0.0.1 on
// free ports, plus the OIDC issuers of sign/keyless/keylesstest that mint
// the tokens Fulcio accepts: Stack.Issuer ("email" type) and
// Stack.GitHubIssuer ("github-workflow" type).
//
//	st := sigstack.Start(t) // or sigstack.WithServices(sigstack.Fulcio, sigstack.RekorV2)
//	tok, _ := st.Issuer.EmailToken("dev@example.com")
//	signer, _ := keyless.NewSigner(ctx, keyless.WithServices(st.KeylessServices()), ...)
//	os.ReadFile(st.TrustedRootPath) // for slsakit and cosign --trusted-root
//
// After start-up the stack reads the live trust material back from the
// services (Fulcio's CA from /api/v2/trustBundle, the TSA's chain, the
// logs' keys) and assembles a trusted_root.json and a signing_config.json
// (v0.2, Rekor v1 as API version 1, Rekor v2 as 2), written to files for
// CLIs.
//
// The binaries come from environment variables that `.ci/install-tools
// sigstore` writes to .tools/env (EnvFulcio and friends). When one is
// missing, Start and Shared.Get skip the test, or fail it when
// SLSAKIT_REQUIRE_SIGSTACK=1 (CI). A stack per test costs seconds; a
// package that needs one for many tests shares it with Shared.
//
// Processes run in their own process groups and are stopped (SIGTERM, then
// SIGKILL of the group) when the stack closes. Their output goes to
// Dir/NAME.log; a failing test gets the tails in its log.
// SLSAKIT_SIGSTACK_KEEP=1 keeps Dir after Close for a post-mortem.
//
// The timestamp authority and Rekor v1 bind the fixed metrics address
// :2112. A stack running either holds an flock on
// os.TempDir()/MetricsLockName for its lifetime, so stacks in different
// test packages (go test runs packages in parallel) take turns instead of
// colliding; within a stack the TSA starts first (it exits without the
// port, Rekor v1 does without).
package sigstack
