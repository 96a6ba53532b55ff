package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms/hashivault/hashivaulttest"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/kms/sigstorekms/sigstorekmstest"
)

func TestMain(m *testing.M) {
	sigstorekmstest.Main() // this binary is also the KMS plugin of TestCLIKMSPlugin
	os.Exit(m.Run())
}

// TestCLIKMSPlugin signs and verifies with a sigstore KMS plugin program,
// from flags and from a policy file.
func TestCLIKMSPlugin(t *testing.T) {
	sigstorekmstest.Install(t, "testkms")
	ref, _ := sigstorekmstest.NewKey(t, "testkms")
	other, _ := sigstorekmstest.NewKey(t, "testkms")
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	env := filepath.Join(dir, "app.intoto.jsonl")
	slsakit(t, "attest", "--builder-id", builder, "--kms", ref, "--param", "a=b", "--out", env, art).want(t, exitOK)
	slsakit(t, "verify", "--kms-key", ref, "--envelope", env, art).want(t, exitOK)
	slsakit(t, "verify", "--kms-key", other, "--envelope", env, art).want(t, exitRejected)
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{kms: \""+ref+"\"}]\n"), 0o644)
	slsakit(t, "verify", "--policy", policy, "--envelope", env, art).want(t, exitOK)
	// Plugin names are program names, not paths.
	slsakit(t, "attest", "--builder-id", builder, "--kms", "../../bin/sh://k", "--param", "a=b", art).want(t, exitError)
	slsakit(t, "attest", "--builder-id", builder, "--kms", "nosuchplugin://k", "--param", "a=b", art).want(t, exitError)
}

// TestCLIKMSRotation: a key reference without a version verifies what
// every enabled version signed, from flags and from a policy, and stops
// verifying a version once it is disabled.
func TestCLIKMSRotation(t *testing.T) {
	srv := kmstest.NewServer(t)
	v1 := srv.CreateKey("projects/p/locations/global/keyRings/r", "rotating", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	key := "projects/p/locations/global/keyRings/r/cryptoKeys/rotating"
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	oldEnv, newEnv := filepath.Join(dir, "old.intoto.jsonl"), filepath.Join(dir, "new.intoto.jsonl")
	slsakit(t, "attest", "--builder-id", builder, "--kms", srv.Ref(key), "--kms-endpoint", srv.Addr(), "--param", "a=b", "--out", oldEnv, art).want(t, exitOK)
	srv.AddVersion(key)
	slsakit(t, "attest", "--builder-id", builder, "--kms", srv.Ref(key), "--kms-endpoint", srv.Addr(), "--param", "a=b", "--out", newEnv, art).want(t, exitOK)
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{kms: \""+srv.Ref(key)+"\"}]\n"), 0o644)
	for _, env := range []string{oldEnv, newEnv} {
		slsakit(t, "verify", "--kms-key", srv.Ref(key), "--kms-endpoint", srv.Addr(), "--envelope", env, art).want(t, exitOK)
		slsakit(t, "verify", "--policy", policy, "--kms-endpoint", srv.Addr(), "--envelope", env, art).want(t, exitOK)
	}
	srv.SetVersionState(v1, kmspb.CryptoKeyVersion_DISABLED)
	slsakit(t, "verify", "--kms-key", srv.Ref(key), "--kms-endpoint", srv.Addr(), "--envelope", oldEnv, art).want(t, exitRejected)
	slsakit(t, "verify", "--policy", policy, "--kms-endpoint", srv.Addr(), "--envelope", oldEnv, art).want(t, exitRejected)
	slsakit(t, "verify", "--kms-key", srv.Ref(key), "--kms-endpoint", srv.Addr(), "--envelope", newEnv, art).want(t, exitOK)
}

// TestCLIVault signs with a Vault transit key (VAULT_ADDR, VAULT_TOKEN, as
// cosign reads them), rotates it, and verifies both attestations from
// flags and from a policy.
func TestCLIVault(t *testing.T) {
	vault := hashivaulttest.NewServer(t)
	vault.Env(t)
	vault.CreateKey("release", "ecdsa-p256")
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	oldEnv, newEnv := filepath.Join(dir, "old.intoto.jsonl"), filepath.Join(dir, "new.intoto.jsonl")
	slsakit(t, "attest", "--builder-id", builder, "--kms", "hashivault://release", "--param", "a=b", "--out", oldEnv, art).want(t, exitOK)
	vault.Rotate("release")
	slsakit(t, "attest", "--builder-id", builder, "--kms", "hashivault://release", "--param", "a=b", "--out", newEnv, art).want(t, exitOK)
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{kms: \"hashivault://release\"}]\n"), 0o644)
	for _, env := range []string{oldEnv, newEnv} {
		slsakit(t, "verify", "--kms-key", "hashivault://release", "--envelope", env, art).want(t, exitOK)
		slsakit(t, "verify", "--policy", policy, "--envelope", env, art).want(t, exitOK)
	}
	vault.SetMinDecryptionVersion("release", 2)
	slsakit(t, "verify", "--kms-key", "hashivault://release", "--envelope", oldEnv, art).want(t, exitRejected)
	slsakit(t, "verify", "--kms-key", "hashivault://release", "--envelope", newEnv, art).want(t, exitOK)
	t.Setenv("VAULT_TOKEN", "wrong")
	r := slsakit(t, "attest", "--builder-id", builder, "--kms", "hashivault://release", "--param", "a=b", art).want(t, exitError)
	if strings.Contains(r.stderr, vault.Token()) {
		t.Error("the error shows the Vault token")
	}
}
