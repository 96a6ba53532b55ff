// Package hashivaulttest is a stand-in for HashiCorp Vault's transit
// engine on loopback, for tests of code that signs or verifies with
// hashivault:// keys: the endpoints slsakit uses (read a key, sign),
// answering as Vault documents them, with the token checked. Tests rotate
// keys, raise min_decryption_version and corrupt answers through it.
package hashivaulttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Server is a stand-in for Vault's transit engine: the two endpoints
// slsakit uses, answering as Vault documents them, with the token checked.
// The tests use it to rotate keys, raise min_decryption_version and
// corrupt answers.
type Server struct {
	t     testing.TB
	token string
	srv   *httptest.Server

	mu              sync.Mutex
	keys            map[string]*tkey
	corrupt         func(data map[string]any)
	keyNameOverride string
	signedVersions  []int
}

type tkey struct {
	typ      string
	versions []crypto.Signer // version n at n-1
	minDec   int
}

// NewServer starts a server on 127.0.0.1, stopped when t ends.
func NewServer(t testing.TB) *Server {
	tr := start(t)
	t.Cleanup(tr.Close)
	return tr
}

// Start starts a Server outside a test (an example, a local demo). The
// caller must Close it. Fixture methods panic on misuse.
func Start() *Server { return start(nil) }

func start(t testing.TB) *Server {
	tr := &Server{t: t, token: "s.secret-token-" + strconv.Itoa(int(randInt())), keys: map[string]*tkey{}}
	// httptest.NewServer listens on 127.0.0.1.
	tr.srv = httptest.NewServer(http.HandlerFunc(tr.serve))
	return tr
}

// Close stops the server.
func (tr *Server) Close() { tr.srv.Close() }

func (tr *Server) fatalf(format string, args ...any) {
	if tr.t != nil {
		tr.t.Helper()
		tr.t.Fatalf("hashivaulttest: "+format, args...)
	}
	panic(fmt.Sprintf("hashivaulttest: "+format, args...))
}

// URL is the Vault address.
func (tr *Server) URL() string { return tr.srv.URL }

// Token is the token the server accepts.
func (tr *Server) Token() string { return tr.token }

// Env sets VAULT_ADDR and VAULT_TOKEN for the rest of t (t.Setenv).
func (tr *Server) Env(t testing.TB) {
	t.Setenv("VAULT_ADDR", tr.srv.URL)
	t.Setenv("VAULT_TOKEN", tr.token)
}

// CorruptSignatures makes f rewrite the data of every sign answer (nil:
// stop).
func (tr *Server) CorruptSignatures(f func(data map[string]any)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.corrupt = f
}

// AnswerKeyReadsAs makes key reads name the key name (a server answering
// for another key); "" stops.
func (tr *Server) AnswerKeyReadsAs(name string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.keyNameOverride = name
}

// SignedVersions returns the key version of every signature made so far.
func (tr *Server) SignedVersions() []int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]int(nil), tr.signedVersions...)
}

func randInt() int64 {
	var b [4]byte
	rand.Read(b[:])
	return int64(b[0])<<16 | int64(b[1])<<8 | int64(b[2])
}

func (tr *Server) newKey(typ string) crypto.Signer {
	var k crypto.Signer
	var err error
	switch typ {
	case "ecdsa-p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "rsa-2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		tr.fatalf("no key type %s", typ)
	}
	if err != nil {
		tr.fatalf("%v", err)
	}
	return k
}

// CreateKey makes a transit key with one version: typ is ecdsa-p256,
// ecdsa-p384, ed25519 or rsa-2048.
func (tr *Server) CreateKey(name, typ string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.keys[name] = &tkey{typ: typ, versions: []crypto.Signer{tr.newKey(typ)}, minDec: 1}
}

// Rotate adds a version to the key and returns its number.
func (tr *Server) Rotate(name string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := tr.keys[name]
	if k == nil {
		tr.fatalf("Rotate: no key %s", name)
	}
	k.versions = append(k.versions, tr.newKey(k.typ))
	return len(k.versions)
}

// SetMinDecryptionVersion sets the key's min_decryption_version.
func (tr *Server) SetMinDecryptionVersion(name string, v int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := tr.keys[name]
	if k == nil || v < 1 || v > len(k.versions) {
		tr.fatalf("SetMinDecryptionVersion(%s, %d): no such key or version", name, v)
	}
	k.minDec = v
}

func (tr *Server) fail(w http.ResponseWriter, code int, msg string) {
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
}

func (tr *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != tr.token {
		tr.fail(w, http.StatusForbidden, "permission denied")
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/transit/")
	if !ok {
		tr.fail(w, http.StatusNotFound, "no handler for route")
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "keys":
		k := tr.keys[parts[1]]
		if k == nil {
			tr.fail(w, http.StatusNotFound, "")
			return
		}
		keys := map[string]any{}
		for i, s := range k.versions {
			var pub string
			if ek, ok := s.Public().(ed25519.PublicKey); ok {
				pub = base64.StdEncoding.EncodeToString(ek)
			} else {
				der, _ := x509.MarshalPKIXPublicKey(s.Public())
				pub = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			}
			keys[strconv.Itoa(i+1)] = map[string]any{"public_key": pub, "name": k.typ, "creation_time": "2026-11-30T00:00:00Z"}
		}
		name := parts[1]
		if tr.keyNameOverride != "" {
			name = tr.keyNameOverride
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
			"name": name, "type": k.typ, "keys": keys,
			"latest_version": len(k.versions), "min_decryption_version": k.minDec, "supports_signing": true,
		}})
	case r.Method == http.MethodPost && (len(parts) == 2 || len(parts) == 3) && parts[0] == "sign":
		k := tr.keys[parts[1]]
		if k == nil {
			tr.fail(w, http.StatusBadRequest, "signing key not found")
			return
		}
		var req struct {
			Input        string `json:"input"`
			Prehashed    bool   `json:"prehashed"`
			KeyVersion   int    `json:"key_version"`
			SignatureAlg string `json:"signature_algorithm"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			tr.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		v := req.KeyVersion
		if v == 0 {
			v = len(k.versions)
		}
		if v < 1 || v > len(k.versions) {
			tr.fail(w, http.StatusBadRequest, "invalid key version")
			return
		}
		in, err := base64.StdEncoding.DecodeString(req.Input)
		if err != nil {
			tr.fail(w, http.StatusBadRequest, "input is not base64")
			return
		}
		s := k.versions[v-1]
		var sig []byte
		switch key := s.(type) {
		case ed25519.PrivateKey:
			sig = ed25519.Sign(key, in)
		default:
			h := map[string]crypto.Hash{"sha2-256": crypto.SHA256, "sha2-384": crypto.SHA384, "sha2-512": crypto.SHA512}[parts[len(parts)-1]]
			if !req.Prehashed || h == 0 || len(in) != h.Size() {
				tr.fail(w, http.StatusBadRequest, "want a prehashed digest")
				return
			}
			if _, isRSA := key.(*rsa.PrivateKey); isRSA && req.SignatureAlg != "pkcs1v15" {
				tr.fail(w, http.StatusBadRequest, "test wants pkcs1v15")
				return
			}
			if sig, err = key.Sign(rand.Reader, in, h); err != nil {
				tr.fail(w, http.StatusInternalServerError, err.Error())
				return
			}
		}
		tr.signedVersions = append(tr.signedVersions, v)
		data := map[string]any{"signature": fmt.Sprintf("vault:v%d:%s", v, base64.StdEncoding.EncodeToString(sig)), "key_version": v}
		if tr.corrupt != nil {
			tr.corrupt(data)
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	default:
		tr.fail(w, http.StatusNotFound, "unsupported path")
	}
}
