package hashivault_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/kms/hashivault"
	"github.com/slsakit/slsakit/kms/hashivault/hashivaulttest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

const statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"c0ffee"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func opts(tr *hashivaulttest.Server) []hashivault.Option {
	return []hashivault.Option{hashivault.WithAddress(tr.URL()), hashivault.WithToken(tr.Token())}
}

func TestEveryKeyType(t *testing.T) {
	ctx := context.Background()
	tr := hashivaulttest.NewServer(t)
	for _, typ := range []string{"ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"} {
		t.Run(typ, func(t *testing.T) {
			tr.CreateKey(typ, typ)
			s, err := hashivault.NewSigner(ctx, "hashivault://"+typ, opts(tr)...)
			if err != nil {
				t.Fatal(err)
			}
			signtest.Conformance(t, s, signtest.WithGoroutines(2))
			v, err := hashivault.NewVerifier(ctx, "openbao://"+typ, opts(tr)...)
			if err != nil {
				t.Fatal(err)
			}
			env, err := sign.SignStatement(ctx, []byte(statement), s)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(ctx, sign.PAE(env.PayloadType, env.Payload), env.Signatures[0].Sig); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRotation: a Signer pins the newest version when made; a Verifier
// trusts every version from min_decryption_version on, as one signer.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	tr := hashivaulttest.NewServer(t)
	tr.CreateKey("release", "ecdsa-p256")
	s1, err := hashivault.NewSigner(ctx, "hashivault://release", opts(tr)...)
	if err != nil {
		t.Fatal(err)
	}
	tr.Rotate("release")
	// s1 keeps signing with version 1 after the rotation: its signatures
	// must verify with its Public key.
	msg := []byte("m")
	sig1, err := s1.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.SignedVersions()[len(tr.SignedVersions())-1]; got != 1 {
		t.Fatalf("signer made before the rotation signed with version %d", got)
	}
	s2, err := hashivault.NewSigner(ctx, "hashivault://release", opts(tr)...)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Version() != 2 {
		t.Fatalf("new signer uses version %d, want 2", s2.Version())
	}
	sig2, err := s2.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := hashivault.NewVerifier(ctx, "hashivault://release", opts(tr)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Versions()) != 2 {
		t.Fatalf("verifier holds %d versions, want 2", len(v.Versions()))
	}
	for i, sig := range [][]byte{sig1, sig2} {
		if err := v.Verify(ctx, msg, sig); err != nil {
			t.Errorf("version %d signature: %v", i+1, err)
		}
	}
	// The versions are one signer.
	env, err := sign.SignStatement(ctx, []byte(statement), s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := verify.Keys(verify.WithKeys(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.Keys(verify.WithKeys(v), verify.WithThreshold(2)); err == nil {
		t.Error("threshold 2 over one Vault key accepted")
	}
	got, err := auth.Authenticate(ctx, &sign.Attestation{Envelope: env}, nil)
	if err != nil || len(got.Signers) != 1 {
		t.Errorf("two versions of one key: %v, %v signers", err, got)
	}
	// Raising min_decryption_version revokes version 1.
	tr.SetMinDecryptionVersion("release", 2)
	v2, err := hashivault.NewVerifier(ctx, "hashivault://release", opts(tr)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.Verify(ctx, msg, sig1); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("version 1 below min_decryption_version: %v", err)
	}
	if err := v2.Verify(ctx, msg, sig2); err != nil {
		t.Error(err)
	}
}

// TestForgedAnswers: what Vault says is checked, not believed.
func TestForgedAnswers(t *testing.T) {
	ctx := context.Background()
	tr := hashivaulttest.NewServer(t)
	tr.CreateKey("k", "ecdsa-p256")
	tr.CreateKey("other", "ecdsa-p256")
	s, err := hashivault.NewSigner(ctx, "hashivault://k", opts(tr)...)
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := hashivault.NewSigner(ctx, "hashivault://other", opts(tr)...)
	foreign, _ := otherSigner.Sign(ctx, []byte("m"))
	for name, corrupt := range map[string]func(map[string]any){
		"another key's signature": func(d map[string]any) { d["signature"] = "vault:v1:" + base64.StdEncoding.EncodeToString(foreign) },
		"another version's prefix": func(d map[string]any) {
			d["signature"] = strings.Replace(d["signature"].(string), "vault:v1:", "vault:v2:", 1)
		},
		"no prefix":       func(d map[string]any) { d["signature"] = strings.TrimPrefix(d["signature"].(string), "vault:v1:") },
		"not base64":      func(d map[string]any) { d["signature"] = "vault:v1:!!!" },
		"empty":           func(d map[string]any) { d["signature"] = "vault:v1:" },
		"huge":            func(d map[string]any) { d["signature"] = "vault:v1:" + strings.Repeat("A", 5<<20) },
		"wrong JSON type": func(d map[string]any) { d["signature"] = 7 },
	} {
		tr.CorruptSignatures(corrupt)
		if sig, err := s.Sign(ctx, []byte("m")); err == nil {
			t.Errorf("%s: accepted signature %x", name, sig)
		} else if !errors.Is(err, hashivault.ErrResponse) {
			t.Errorf("%s: err = %v, want ErrResponse", name, err)
		}
	}
	tr.CorruptSignatures(nil)
	tr.AnswerKeyReadsAs("other")
	if _, err := hashivault.NewVerifier(ctx, "hashivault://k", opts(tr)...); !errors.Is(err, hashivault.ErrResponse) {
		t.Errorf("answer for another key: err = %v, want ErrResponse", err)
	}
}

// TestTokenStaysHome: the token goes to the Vault address only (not to a
// host a redirect names) and into no error.
func TestTokenStaysHome(t *testing.T) {
	ctx := context.Background()
	tr := hashivaulttest.NewServer(t)
	tr.CreateKey("k", "ecdsa-p256")
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "" {
			leaked.Add(1)
		}
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer elsewhere.Close()
	// "localhost" vs "127.0.0.1": another host, same machine.
	other := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	_, err := hashivault.NewVerifier(ctx, "hashivault://k", hashivault.WithAddress(redirector.URL), hashivault.WithToken(tr.Token()))
	if err == nil || !errors.Is(err, hashivault.ErrVault) {
		t.Errorf("redirect to another host: err = %v, want ErrVault", err)
	}
	if leaked.Load() != 0 {
		t.Error("the token was sent to the host a redirect named")
	}
	// A failing request never shows the token.
	for name, opts := range map[string][]hashivault.Option{
		"wrong token": {hashivault.WithAddress(tr.URL()), hashivault.WithToken(tr.Token() + "x")},
		"no such key": {hashivault.WithAddress(tr.URL()), hashivault.WithToken(tr.Token())},
		"unreachable": {hashivault.WithAddress("http://127.0.0.1:1"), hashivault.WithToken(tr.Token())},
		"redirect":    {hashivault.WithAddress(redirector.URL), hashivault.WithToken(tr.Token())},
		"bad mount":   {hashivault.WithAddress(tr.URL()), hashivault.WithToken(tr.Token()), hashivault.WithMount("../sys")},
		"bad address": {hashivault.WithAddress("ftp://" + tr.Token() + "@x"), hashivault.WithToken(tr.Token())},
	} {
		_, err := hashivault.NewSigner(ctx, "hashivault://missing", opts...)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), tr.Token()) || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
	_, err = hashivault.NewSigner(ctx, "hashivault://k", hashivault.WithAddress(tr.URL()), hashivault.WithToken("wrong"))
	if !errors.Is(err, hashivault.ErrVault) || !strings.Contains(err.Error(), "403") {
		t.Errorf("wrong token: err = %v, want ErrVault with 403", err)
	}
}

func TestReferences(t *testing.T) {
	for _, ref := range []string{"hashivault://release", "openbao://a.b-c_d", "hashivault://x"} {
		if _, err := hashivault.ParseReference(ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	for _, ref := range []string{"", "hashivault://", "hashivault://a/b", "hashivault://../k", "hashivault://-k",
		"hashivault://k-", "gcpkms://k", "hashivault://k?x=1", "hashivault://k k", "HASHIVAULT://k", "hashivault://" + strings.Repeat("a", 300)} {
		if _, err := hashivault.ParseReference(ref); !errors.Is(err, hashivault.ErrInvalidReference) {
			t.Errorf("%q: err = %v, want ErrInvalidReference", ref, err)
		}
	}
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
	if _, err := hashivault.NewSigner(context.Background(), "hashivault://k"); !errors.Is(err, hashivault.ErrConfig) {
		t.Errorf("no address or token: err = %v, want ErrConfig", err)
	}
}
