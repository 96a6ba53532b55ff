// Package keylesstest is a loopback Sigstore for tests: an OIDC issuer, a
// Fulcio-compatible certificate authority, two Rekor-compatible
// transparency logs (one with the v1 API, one with the tile-based v2 API:
// SigningServices and SigningServicesV2) and an RFC 3161 timestamp authority, all on one HTTP server
// bound to 127.0.0.1, plus the trusted root (trusted_root.json) and signing
// config (signing_config.json) that describe them. sigstore-go's real HTTP
// clients talk to them, and sigstore-go's verifier accepts what they issue,
// so keyless signing and verification run end to end without a network.
//
//	svc := keylesstest.New(t) // stopped when the test ends
//	tok, _ := svc.Issuer.EmailToken("builder@example.com")
//	s, _ := keyless.NewSigner(ctx, keyless.WithServices(svc.SigningServices()),
//		keyless.WithToken(keyless.StaticToken(tok)))
//	root, _ := svc.TrustedRootJSON()
//
// The services are doubles, not Sigstore's servers (whose modules pull in
// dependencies a library should not impose), but they speak the same HTTP
// APIs and build on the same libraries: Rekor's and rekor-tiles' own entry
// types validate and canonicalize log entries, v2 checkpoints are C2SP
// signed notes made with rekor-tiles' note signer, github.com/digitorus/timestamp makes the
// timestamps. The CA embeds no SCT; the trusted root lists no CT log, and
// verify/keyless then requires none.
//
// Clocks (SetClock on the CA, the log, the TSA and issuers) make expired
// certificates and out-of-window timestamps for negative tests. Start
// returns services that need no testing.TB, for demos.
package keylesstest
