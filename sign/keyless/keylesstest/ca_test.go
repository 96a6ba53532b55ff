package keylesstest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func certRequest(t *testing.T, svc *keylesstest.Services, tok string, popSubject string) int {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemKey, _ := cryptoutils.MarshalPublicKeyToPEM(&k.PublicKey)
	d := sha256.Sum256([]byte(popSubject))
	pop, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	body, _ := json.Marshal(map[string]any{"publicKeyRequest": map[string]any{
		"publicKey":         map[string]string{"algorithm": "ECDSA", "content": string(pemKey)},
		"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
	}})
	req, _ := http.NewRequest(http.MethodPost, svc.FulcioURL()+"/api/v2/signingCert", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCAChecksTokenAndProofOfPossession(t *testing.T) {
	svc := keylesstest.New(t)
	good, _ := svc.Issuer.EmailToken("a@example.com")
	if c := certRequest(t, svc, good, "a@example.com"); c != http.StatusOK {
		t.Fatalf("good request: %d", c)
	}
	if c := certRequest(t, svc, good, "b@example.com"); c != http.StatusBadRequest {
		t.Errorf("proof over another subject: %d, want 400", c)
	}
	aud, _ := svc.Issuer.Token(keylesstest.Claims{Email: "a@example.com", Audience: "other"})
	expired, _ := svc.Issuer.Token(keylesstest.Claims{Email: "a@example.com", TTL: -time.Second})
	other := keylesstest.New(t)
	foreign, _ := other.Issuer.EmailToken("a@example.com")
	forged := good[:len(good)-4] + "AAAA"
	for name, tok := range map[string]string{"audience": aud, "expired": expired, "untrusted issuer": foreign, "forged signature": forged, "none": ""} {
		if c := certRequest(t, svc, tok, "a@example.com"); c != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, c)
		}
	}
}
