package keyless_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func TestSigstageSigningConfig(t *testing.T) {
	b, err := os.ReadFile("testdata/signing_config.sigstage.v0.2.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := keyless.ServicesFromSigningConfig(b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if s.FulcioURL != "https://fulcio.sigstage.dev" || len(s.Rekor) != 1 || s.Rekor[0] != (keyless.RekorLog{URL: "https://rekor.sigstage.dev", APIVersion: keyless.RekorV1}) ||
		len(s.TSAURLs) != 1 || s.TSAURLs[0] != "https://timestamp.sigstage.dev/api/v1/timestamp" {
		t.Errorf("services = %+v", s)
	}
	// Before the TSA's validity starts, no TSA is selectable.
	if _, err := keyless.ServicesFromSigningConfig(b, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("2024: err = %v, want ErrConfig", err)
	}
}

func TestPublicGoodDefaults(t *testing.T) {
	s := keyless.PublicGood()
	if s.FulcioURL != keyless.PublicGoodFulcioURL || len(s.Rekor) != 1 || s.Rekor[0].APIVersion != keyless.RekorV1 || len(s.TSAURLs) != 0 {
		t.Errorf("PublicGood = %+v", s)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("e30.eyJpc3MiOiJpIiwic3ViIjoicyIsImV4cCI6OTl9.c2ln")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := keyless.ParseToken(tok, time.Unix(0, 0))
		if err == nil && (c.Issuer == "" || c.Identity() == "") {
			t.Errorf("accepted a token without issuer or identity: %+v", c)
		}
		if err != nil && !errors.Is(err, keyless.ErrTokenMalformed) && !errors.Is(err, keyless.ErrTokenExpired) {
			t.Errorf("untyped error: %v", err)
		}
	})
}

func BenchmarkSignAndBundle(b *testing.B) {
	svc := keylesstest.New(b)
	s := newSigner(b, svc)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := sign.Attest(ctx, []byte(strings.Replace(statement, `}}]`, `}}],"predicate":{"n":`+strconv.Itoa(i)+`}`, 1)), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewSigner(b *testing.B) {
	svc := keylesstest.New(b)
	tok, _ := svc.Issuer.EmailToken("builder@example.com")
	opts := []keyless.Option{keyless.WithServices(svc.SigningServices()), keyless.WithToken(keyless.StaticToken(tok))}
	for b.Loop() {
		if _, err := keyless.NewSigner(context.Background(), opts...); err != nil {
			b.Fatal(err)
		}
	}
}
