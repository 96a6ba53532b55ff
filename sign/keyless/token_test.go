package keyless_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign/keyless"
)

// jwt builds an unsigned-looking JWT with the given claims (ParseToken does
// not verify signatures).
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256"}`)) + "." + enc(b) + "." + enc([]byte("sig"))
}

func TestParseToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := map[string]any{"iss": "https://issuer.example", "sub": "s", "email": "a@example.com",
		"email_verified": true, "aud": []string{"sigstore", "x"}, "exp": now.Unix() + 60, "iat": now.Unix()}
	c, err := keyless.ParseToken(jwt(t, good), now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://issuer.example" || c.Identity() != "a@example.com" || !c.EmailVerified ||
		len(c.Audience) != 2 || !c.Expiry.Equal(now.Add(time.Minute)) {
		t.Errorf("claims = %+v", c)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, tc := range map[string]struct {
		tok  string
		want error
	}{
		"expired":          {jwt(t, with("exp", now.Unix()-1)), keyless.ErrTokenExpired},
		"expires now":      {jwt(t, with("exp", now.Unix())), keyless.ErrTokenExpired},
		"no exp":           {jwt(t, with("exp", nil)), keyless.ErrTokenMalformed},
		"exp string":       {jwt(t, with("exp", "tomorrow")), keyless.ErrTokenMalformed},
		"no iss":           {jwt(t, with("iss", nil)), keyless.ErrTokenMalformed},
		"no subject":       {jwt(t, with("sub", nil)) + "", nil},
		"aud number":       {jwt(t, with("aud", 7)), keyless.ErrTokenMalformed},
		"two parts":        {"a.b", keyless.ErrTokenMalformed},
		"empty":            {"", keyless.ErrTokenMalformed},
		"not base64":       {"e30.!!!.c2ln", keyless.ErrTokenMalformed},
		"payload not json": {"e30." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c2ln", keyless.ErrTokenMalformed},
		"too large":        {strings.Repeat("a", keyless.MaxTokenSize+1), keyless.ErrTokenMalformed},
	} {
		_, err := keyless.ParseToken(tc.tok, now)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	noSubNoEmail := with("sub", nil)
	delete(noSubNoEmail, "email")
	if _, err := keyless.ParseToken(jwt(t, noSubNoEmail), now); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("no sub, no email: err = %v", err)
	}
}

func TestTokenSources(t *testing.T) {
	ctx := context.Background()
	if tok, err := keyless.StaticToken(" abc \n").Token(ctx); err != nil || tok != "abc" {
		t.Errorf("static = %q, %v", tok, err)
	}
	if _, err := keyless.StaticToken("").Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("empty static: %v", err)
	}

	t.Setenv(keyless.EnvToken, "from-env")
	if tok, err := keyless.FromEnv().Token(ctx); err != nil || tok != "from-env" {
		t.Errorf("env = %q, %v", tok, err)
	}
	t.Setenv(keyless.EnvToken, "")
	if _, err := keyless.FromEnv().Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("unset env: %v", err)
	}

	calls := 0
	fn := keyless.FromFunc(func(context.Context) (string, error) { calls++; return "f", nil })
	if tok, _ := fn.Token(ctx); tok != "f" || calls != 1 {
		t.Errorf("func = %q after %d calls", tok, calls)
	}
}

func TestFromFileFollowsRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	src := keyless.FromFile(path)
	if _, err := src.Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("missing file: %v", err)
	}
	write := func(s string) {
		// Kubelet-style: write a new file and rename it over the old one.
		tmp := filepath.Join(dir, "..tmp")
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("first\n")
	if tok, err := src.Token(ctx); err != nil || tok != "first" {
		t.Errorf("first = %q, %v", tok, err)
	}
	write("secnd\n") // same size, same second: content still read afresh
	if tok, err := src.Token(ctx); err != nil || tok != "secnd" {
		t.Errorf("rotated = %q, %v", tok, err)
	}
	write("  \n")
	if _, err := src.Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("blank file: %v", err)
	}
	write(strings.Repeat("x", keyless.MaxTokenSize+1))
	if _, err := src.Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("huge file: %v", err)
	}
}

func TestGitHubActions(t *testing.T) {
	var gotAuth, gotAud string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "lost query", http.StatusBadRequest)
			return
		}
		if gotAuth != "bearer req-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": "gh-id-token"})
	}))
	defer srv.Close()
	ctx := context.Background()

	t.Setenv(keyless.EnvGitHubRequestURL, "")
	t.Setenv(keyless.EnvGitHubRequestToken, "")
	if _, err := keyless.GitHubActions().Token(ctx); !errors.Is(err, keyless.ErrNoToken) || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("outside Actions: %v", err)
	}
	t.Setenv(keyless.EnvGitHubRequestURL, srv.URL+"/token?api-version=2.0")
	t.Setenv(keyless.EnvGitHubRequestToken, "req-token")
	tok, err := keyless.GitHubActions().Token(ctx)
	if err != nil || tok != "gh-id-token" || gotAud != "sigstore" {
		t.Errorf("token %q, err %v, audience %q", tok, err, gotAud)
	}
	if _, err := keyless.GitHubActions(keyless.WithAudience("other")).Token(ctx); err != nil || gotAud != "other" {
		t.Errorf("audience option: %q, %v", gotAud, err)
	}
	t.Setenv(keyless.EnvGitHubRequestToken, "wrong")
	if _, err := keyless.GitHubActions().Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("refused: %v", err)
	}
}
