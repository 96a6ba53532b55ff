package keyless_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// A log and a timestamp authority whose clocks run an hour ahead (or are
// compromised) date a signature inside a certificate's validity that has
// not begun. sigstore-go checks the certificate at those times, not that
// they have happened; on main such a bundle verified.
func TestRejectsFutureSigningTimes(t *testing.T) {
	ctx := context.Background()
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	for _, c := range []struct {
		name     string
		opts     []signkeyless.Option
		verifier []keyless.Option
		want     error
	}{
		{"log time ahead", []signkeyless.Option{signkeyless.WithTSAURLs()}, nil, keyless.ErrTlog},
		{"timestamp ahead", []signkeyless.Option{signkeyless.WithRekorURLs()}, []keyless.Option{keyless.WithTlogThreshold(0), keyless.WithSignedTimestampThreshold(1)}, keyless.ErrTimestamp},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := keylesstest.New(t)
			svc.CA.SetClock(ahead)
			svc.Log.SetClock(ahead)
			svc.TSA.SetClock(ahead)
			svc.Issuer.SetClock(ahead)
			b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), append(c.opts, signkeyless.WithClock(ahead))...)
			opts := append([]keyless.Option{keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail})}, c.verifier...)
			_, err := newVerifier(t, svc, opts...).Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
			var te *verify.TimeError
			if !errors.Is(err, c.want) || !errors.Is(err, verify.ErrTime) || !errors.As(err, &te) || te.Problem != verify.TimeInFuture {
				t.Fatalf("err = %v, want %v with a future *verify.TimeError", err, c.want)
			}
			if te.Ahead < time.Hour-time.Minute {
				t.Errorf("TimeError says %s ahead, want about an hour", te.Ahead)
			}
			// The same bundle verified by a clock an hour ahead is fine.
			if _, err := newVerifier(t, svc, append(opts, keyless.WithClock(ahead))...).Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); err != nil {
				t.Fatalf("with a clock as far ahead: %v", err)
			}
		})
	}
}

// The verifier's clock judges the times: one an hour behind the services
// sees their times as the future; within ClockSkew it does not.
func TestVerifierClock(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	id := keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail})
	behind := keyless.WithClock(func() time.Time { return time.Now().Add(-time.Hour) })
	if _, err := newVerifier(t, svc, id, behind).Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, verify.ErrTime) {
		t.Errorf("clock an hour behind: err = %v, want ErrTime", err)
	}
	// Signed a moment ago, judged by a clock a little less than the skew
	// behind: the times are within ClockSkew.
	slightly := keyless.WithClock(func() time.Time { return time.Now().Add(-verify.ClockSkew + time.Minute) })
	if _, err := newVerifier(t, svc, id, slightly).Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); err != nil {
		t.Errorf("within the skew: %v", err)
	}
	if _, err := keyless.NewVerifier(keyless.WithClock(nil)); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("nil clock: err = %v, want ErrConfig", err)
	}
}

// A policy engine's clock (verify.WithClock) reaches the keyless verifiers
// it builds for identity rules: on main they kept time.Now, so an engine
// evaluating "as of" an earlier time accepted signatures from its future.
func TestEngineClockReachesKeyless(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	p, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: " + svc.Issuer.URL() + "\n        subject: " + testEmail + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": d}}
	for _, c := range []struct {
		name  string
		clock func() time.Time
		want  error
	}{
		{"now", time.Now, nil},
		{"an hour ago", func() time.Time { return time.Now().Add(-time.Hour) }, verify.ErrTime},
	} {
		eng, err := verify.NewEngine(ctx, p, verify.WithClock(c.clock),
			verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(tr))))
		if err != nil {
			t.Fatal(err)
		}
		att, err := verify.ParseAttestation(b)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := eng.Evaluate(ctx, art, []*sign.Attestation{att})
		if c.want == nil && err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, rep)
		}
		if c.want != nil && (!errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), c.want)) {
			t.Errorf("%s: err = %v, attestation: %v; want ErrNoAttestation because of %v", c.name, err, rep.Attestations[0].Err(), c.want)
		}
	}
}
