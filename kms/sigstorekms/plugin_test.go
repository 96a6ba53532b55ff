package sigstorekms_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/kms/sigstorekms"
	"github.com/slsakit/slsakit/kms/sigstorekms/sigstorekmstest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

func TestMain(m *testing.M) {
	sigstorekmstest.Main()
	os.Exit(m.Run())
}

// TestPlugin signs through a real plugin program (this test binary as
// sigstore-kms-testkms) and verifies with the key the test made, not the
// one the plugin reported.
func TestPlugin(t *testing.T) {
	ctx := context.Background()
	sigstorekmstest.Install(t, "testkms")
	ref, pub := sigstorekmstest.NewKey(t, "testkms")
	s, err := sigstorekms.LoadPlugin(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if as, ok := s.(sign.AlgorithmSigner); !ok || as.Algorithm() != sign.ECDSAP256SHA256 {
		t.Errorf("plugin signer %T: want an AlgorithmSigner of %s", s, sign.ECDSAP256SHA256)
	}
	signtest.Conformance(t, s, signtest.WithGoroutines(2))

	env, err := sign.SignStatement(ctx, []byte(statement), s)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := verify.Keys(verify.WithPublicKeys(pub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, &sign.Attestation{Envelope: env}, nil); err != nil {
		t.Errorf("signature by the plugin's key: %v", err)
	}

	v, err := sigstorekms.PluginVerifier(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sign.PublicKeyID(pub)
	if v.KeyID() != want {
		t.Errorf("verifier key ID %s, want %s", v.KeyID(), want)
	}
	if err := v.Verify(ctx, sign.PAE(env.PayloadType, env.Payload), env.Signatures[0].Sig); err != nil {
		t.Error(err)
	}
	other, _ := sigstorekmstest.NewKey(t, "testkms")
	ov, err := sigstorekms.PluginVerifier(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.Verify(ctx, sign.PAE(env.PayloadType, env.Payload), env.Signatures[0].Sig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("another key's verifier: %v", err)
	}
}

// TestPluginErrors: references that are not NAME://KEY with a plain name
// are refused before anything runs — a name with a path separator would
// otherwise run any program — and a plugin's failure is an error.
func TestPluginErrors(t *testing.T) {
	ctx := context.Background()
	sigstorekmstest.Install(t, "testkms")
	// A program that would be found if names could hold paths.
	evil := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(evil, []byte("#!/bin/sh\necho pwned > "+evil+".ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{
		"", "testkms", "testkms:/k", "://k", "testkms://",
		"../../" + evil + "://k", "a/b://k", "/bin/sh://k", ".hidden://k", "-x://k",
		"sp ace://k", "tab\t://k", "nul\x00://k", "é://k", strings.Repeat("a", 65) + "://k",
	} {
		if _, err := sigstorekms.LoadPlugin(ctx, ref); !errors.Is(err, sigstorekms.ErrInvalidPluginReference) {
			t.Errorf("LoadPlugin(%q): err = %v, want ErrInvalidPluginReference", ref, err)
		}
	}
	if _, err := os.Stat(evil + ".ran"); err == nil {
		t.Fatal("a program named by a path in the reference ran")
	}
	if _, err := sigstorekms.LoadPlugin(ctx, "nosuchplugin://k"); !errors.Is(err, sigstorekms.ErrPluginNotFound) {
		t.Errorf("missing plugin: err = %v, want ErrPluginNotFound", err)
	}
	// The plugin runs but fails (no such key file): an error, no signer.
	if s, err := sigstorekms.LoadPlugin(ctx, "testkms://"+filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Errorf("missing key file: got signer %v", s)
	}
}
