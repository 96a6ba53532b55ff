// Command keyless signs an in-toto statement with a Sigstore keyless
// identity and writes a Sigstore bundle v0.3, then verifies it.
//
// Demo mode (the default when no token is available) starts a loopback
// Sigstore in-process — OIDC issuer, Fulcio-compatible CA, Rekor-compatible
// log, timestamp authority — so the whole flow runs offline:
//
//	go run ./examples/keyless -demo
//
// Real mode uses an ID token from -token, -token-file, $SIGSTORE_ID_TOKEN or
// the GitHub Actions runtime (the job needs "permissions: id-token: write")
// and the Sigstore public-good services unless told otherwise:
//
//	go run ./examples/keyless -statement provenance.json -out provenance.sigstore.json \
//	    [-fulcio URL] [-rekor URL] [-tsa URL] [-signing-config signing_config.json]
//
// It never opens a browser: without a token it fails at once.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type flags struct {
	demo                        bool
	token, tokenFile            string
	fulcio, rekor, tsa, sc      string
	statement, out, trustedRoot string
	timeout                     time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keyless", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	fs.BoolVar(&f.demo, "demo", false, "sign against in-process loopback services (default when no token is available)")
	fs.StringVar(&f.token, "token", "", "OIDC ID token")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the OIDC ID token (re-read on use)")
	fs.StringVar(&f.fulcio, "fulcio", "", "Fulcio URL (default: public good)")
	fs.StringVar(&f.rekor, "rekor", "", "Rekor URL (default: public good; \"none\" for no log entry)")
	fs.StringVar(&f.tsa, "tsa", "", "RFC 3161 timestamp authority URL (default: none)")
	fs.StringVar(&f.sc, "signing-config", "", "signing_config.json choosing the services")
	fs.StringVar(&f.statement, "statement", "", "in-toto statement JSON to sign (default: a demo statement)")
	fs.StringVar(&f.out, "out", "", "write the bundle here (default: stdout)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "verify the bundle with this trusted_root.json (real mode)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "overall timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	ts := tokenSource(f)
	if ts == nil && !f.demo {
		fmt.Fprintln(stderr, "keyless: no token given (-token, -token-file, $SIGSTORE_ID_TOKEN or GitHub Actions): running the offline demo")
		f.demo = true
	}
	statement, digest, err := loadStatement(f.statement)
	if err != nil {
		return err
	}

	opts := []keyless.Option{keyless.WithTimeout(f.timeout)}
	var svc *keylesstest.Services
	if f.demo {
		if svc, err = keylesstest.Start(); err != nil {
			return err
		}
		defer svc.Close()
		tok, err := svc.Issuer.EmailToken("demo@example.com")
		if err != nil {
			return err
		}
		ts = keyless.StaticToken(tok)
		opts = append(opts, keyless.WithServices(svc.SigningServices()))
		fmt.Fprintln(stderr, "keyless: demo services at", svc.URL)
	} else {
		if f.sc != "" {
			opts = append(opts, keyless.WithSigningConfigFile(f.sc))
		}
		opts = append(opts, keyless.ServiceURLs(f.fulcio, f.rekor, f.tsa)...)
	}
	opts = append(opts, keyless.WithToken(ts))

	s, err := keyless.NewSigner(ctx, opts...)
	if err != nil {
		return err
	}
	id := s.Claims()
	fmt.Fprintf(stderr, "keyless: certificate for %s (issuer %s)\n", id.Identity(), id.Issuer)
	att, err := sign.Attest(ctx, statement, s)
	if err != nil {
		return err
	}
	bundle, err := att.Bundle.MarshalJSON()
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := os.WriteFile(f.out, bundle, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "keyless: wrote", f.out)
	} else {
		fmt.Fprintf(stdout, "%s\n", bundle)
	}

	// Verify what was written: in demo mode against the loopback trusted
	// root, in real mode against -trusted-root if given.
	var root []byte
	switch {
	case svc != nil:
		if root, err = svc.TrustedRootJSON(); err != nil {
			return err
		}
	case f.trustedRoot != "":
		if root, err = os.ReadFile(f.trustedRoot); err != nil {
			return err
		}
	default:
		return nil
	}
	v, err := verifykeyless.NewVerifier(verifykeyless.WithTrustedRootJSON(root),
		verifykeyless.WithIdentity(verify.Identity{Issuer: id.Issuer, Subject: id.Identity()}))
	if err != nil {
		return err
	}
	res, err := v.Verify(ctx, bundle, verifykeyless.WithArtifactDigest("sha256", digest))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "keyless: verified: signed by %s (issuer %s), %d verified time(s)\n",
		res.Signer.SAN, res.Signer.Issuer, len(res.Timestamps))
	return nil
}

// tokenSource picks the token the user gave, in order of precedence.
func tokenSource(f flags) keyless.TokenSource {
	if f.tokenFile != "" && f.token == "" {
		return keyless.FromFile(f.tokenFile)
	}
	return keyless.AmbientToken(f.token)
}

// loadStatement reads the statement and returns the sha256 of its first
// subject, or makes a demo statement.
func loadStatement(path string) ([]byte, string, error) {
	if path == "" {
		sum := sha256.Sum256([]byte("hello, keyless\n"))
		d := hex.EncodeToString(sum[:])
		b, err := json.Marshal(map[string]any{
			"_type":         "https://in-toto.io/Statement/v1",
			"subject":       []any{map[string]any{"name": "hello.txt", "digest": map[string]string{"sha256": d}}},
			"predicateType": "https://slsakit.dev/example/keyless/v1",
			"predicate":     map[string]any{},
		})
		return b, d, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, "", fmt.Errorf("statement %s: %w", path, err)
	}
	if len(st.Subject) == 0 || st.Subject[0].Digest["sha256"] == "" {
		return nil, "", errors.New("statement has no subject with a sha256 digest")
	}
	return b, st.Subject[0].Digest["sha256"], nil
}
