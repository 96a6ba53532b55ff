package keylesstest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// A relying party that knows only the issuer URL can verify its tokens
// through OIDC discovery.
func TestIssuerDiscoveryVerifiesTokens(t *testing.T) {
	svc := keylesstest.New(t)
	if !strings.HasPrefix(svc.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s is not loopback", svc.URL)
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, svc.Issuer.URL()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != svc.Issuer.URL() {
		t.Fatalf("discovery issuer %q", disc.Issuer)
	}
	var jwks struct {
		Keys []struct{ Kty, Crv, X, Y, Kid string } `json:"keys"`
	}
	getJSON(t, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Crv != "P-256" {
		t.Fatalf("jwks = %+v", jwks)
	}
	dec := base64.RawURLEncoding.DecodeString
	x, _ := dec(jwks.Keys[0].X)
	y, _ := dec(jwks.Keys[0].Y)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}

	tok, err := svc.Issuer.EmailToken("a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig, _ := dec(parts[2])
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("token does not verify with the published key")
	}
	other, err := svc.NewIssuer("other")
	if err != nil {
		t.Fatal(err)
	}
	getJSON(t, other.URL()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != other.URL() || other.URL() == svc.Issuer.URL() {
		t.Errorf("second issuer %q", disc.Issuer)
	}
	if _, err := svc.NewIssuer("other"); err == nil {
		t.Error("duplicate issuer name accepted")
	}
}

func TestTrustedRootParses(t *testing.T) {
	svc := keylesstest.New(t)
	b, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.FulcioCertificateAuthorities()) != 1 || len(tr.TimestampingAuthorities()) != 1 || len(tr.RekorLogs()) != 2 || len(tr.CTLogs()) != 0 {
		t.Errorf("trusted root: %d CAs, %d TSAs, %d logs, %d CT logs", len(tr.FulcioCertificateAuthorities()),
			len(tr.TimestampingAuthorities()), len(tr.RekorLogs()), len(tr.CTLogs()))
	}
}

func TestStartClose(t *testing.T) {
	svc, err := keylesstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	url := svc.FulcioURL()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Post(url+"/api/v2/signingCert", "application/json", nil); err == nil {
		t.Error("server still answers after Close")
	}
}

// The log's tree head and public key endpoints agree with its entries.
func TestLogInfo(t *testing.T) {
	svc := keylesstest.New(t)
	var info struct {
		TreeSize       int    `json:"treeSize"`
		RootHash       string `json:"rootHash"`
		SignedTreeHead string `json:"signedTreeHead"`
	}
	getJSON(t, svc.RekorURL()+"/api/v1/log", &info)
	if info.TreeSize != 0 || !strings.Contains(info.SignedTreeHead, "\n0\n") {
		t.Errorf("empty log info = %+v", info)
	}
	resp, err := http.Get(svc.RekorURL() + "/api/v1/log/publicKey")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, resp.Body)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(buf.String()))
	if err != nil || !pub.(*ecdsa.PublicKey).Equal(svc.Log.Public()) {
		t.Errorf("public key endpoint: %v", err)
	}
}
