package keyless

import (
	"context"
	"testing"
)

func TestAmbientToken(t *testing.T) {
	t.Setenv(EnvToken, "")
	t.Setenv(EnvGitHubRequestURL, "")
	if AmbientToken("") != nil {
		t.Fatal("a token source with nothing available")
	}
	tok, err := AmbientToken("explicit").Token(context.Background())
	if err != nil || tok != "explicit" {
		t.Fatalf("explicit: %q %v", tok, err)
	}
	t.Setenv(EnvToken, "from-env")
	if tok, _ := AmbientToken("").Token(context.Background()); tok != "from-env" {
		t.Fatalf("env: %q", tok)
	}
	if tok, _ := AmbientToken("explicit").Token(context.Background()); tok != "explicit" {
		t.Fatal("the explicit token must win over the environment")
	}
	t.Setenv(EnvToken, "")
	t.Setenv(EnvGitHubRequestURL, "http://127.0.0.1:1/token")
	if AmbientToken("") == nil {
		t.Fatal("no GitHub Actions source although its runtime variables are set")
	}
}

func TestServiceURLs(t *testing.T) {
	apply := func(opts []Option) Services {
		c := defaultConfig()
		for _, o := range opts {
			o(&c)
		}
		return c.services
	}
	def := apply(nil)
	if got := apply(ServiceURLs("", "", "")); got.FulcioURL != def.FulcioURL || len(got.Rekor) != len(def.Rekor) || len(got.TSAURLs) != 0 {
		t.Fatalf("empty flags changed the defaults: %+v", got)
	}
	got := apply(ServiceURLs("https://fulcio.test", "none", "https://tsa.test"))
	if got.FulcioURL != "https://fulcio.test" || len(got.Rekor) != 0 || len(got.TSAURLs) != 1 || got.TSAURLs[0] != "https://tsa.test" {
		t.Fatalf("services: %+v", got)
	}
	if got := apply(ServiceURLs("", "https://rekor.test", "")); len(got.Rekor) != 1 || got.Rekor[0] != (RekorLog{URL: "https://rekor.test", APIVersion: RekorV1}) {
		t.Fatalf("rekor: %+v", got)
	}
}
