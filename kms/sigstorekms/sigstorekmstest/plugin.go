// Package sigstorekmstest runs a real sigstore KMS plugin program in tests,
// with no KMS: the test binary itself, installed on PATH as
// sigstore-kms-NAME, speaks sigstore's plugin protocol and signs with ECDSA
// P-256 key files. The key reference "NAME:///path/to/key.pem" names the
// file.
//
//	func TestMain(m *testing.M) {
//		sigstorekmstest.Main() // serves the protocol when run as the plugin
//		os.Exit(m.Run())
//	}
//
//	func TestPlugin(t *testing.T) {
//		sigstorekmstest.Install(t, "testkms")
//		ref, pub := sigstorekmstest.NewKey(t, "testkms")
//		signer, err := sigstorekms.LoadPlugin(ctx, ref)
//		...
//	}
package sigstorekmstest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

// Main serves one plugin call and exits when the process was started as a
// plugin program (its name starts with sigstore-kms-); otherwise it returns
// at once. Call it first in TestMain.
func Main() {
	if !strings.HasPrefix(filepath.Base(os.Args[0]), cliplugin.PluginBinaryPrefix) {
		return
	}
	os.Exit(serve())
}

func serve() int {
	args, err := handler.GetPluginArgs(os.Args)
	if err != nil {
		_ = handler.WriteErrorResponse(os.Stdout, err)
		return 1
	}
	impl, err := loadKey(args.InitOptions.KeyResourceID)
	if err != nil {
		_ = handler.WriteErrorResponse(os.Stdout, err)
		return 1
	}
	if _, err := handler.Dispatch(os.Stdout, os.Stdin, args, impl); err != nil {
		return 1
	}
	return 0
}

// Install makes the running test binary the plugin program
// sigstore-kms-NAME, on PATH for the rest of t (t.Setenv: not in parallel
// tests). The binary must call Main in its TestMain.
func Install(t testing.TB, name string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, cliplugin.PluginBinaryPrefix+name)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// NewKey writes a new ECDSA P-256 key file and returns its plugin
// reference "NAME://PATH" and its public key.
func NewKey(t testing.TB, name string) (ref string, pub crypto.PublicKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return name + "://" + path, key.Public()
}

// fileKey is the plugin's implementation: an ECDSA key read from a file.
type fileKey struct {
	*signature.ECDSASignerVerifier
	priv *ecdsa.PrivateKey
}

func loadKey(path string) (*fileKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("sigstorekmstest: key file is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sigstorekmstest: %T is not an ECDSA key", k)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &fileKey{sv, priv}, nil
}

func (k *fileKey) CreateKey(context.Context, string) (crypto.PublicKey, error) {
	return nil, errors.New("sigstorekmstest: keys are made by NewKey")
}

func (k *fileKey) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return k.priv, crypto.SHA256, nil
}

func (k *fileKey) SupportedAlgorithms() []string { return []string{"ecdsa-p256-sha256"} }
func (k *fileKey) DefaultAlgorithm() string      { return "ecdsa-p256-sha256" }
