package keyless_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// A signer whose services name a Rekor v2 log records attestations and
// blob signatures there (fails on main: it spoke only the v1 API and the
// upload 404ed): a hashedrekord v0.0.2 entry with an inclusion proof and a
// checkpoint, no integrated time, beside a signed timestamp.
func TestRekorV2Entries(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	s := newSigner(t, svc, keyless.WithServices(svc.SigningServicesV2()))

	att, err := sign.Attest(ctx, []byte(statement), s)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := sign.SignBlob(ctx, strings.NewReader("kube-apiserver"), s)
	if err != nil {
		t.Fatal(err)
	}
	if svc.LogV2.Size() != 2 || svc.Log.Size() != 0 || svc.TSA.Requests() != 2 {
		t.Fatalf("v2 log %d entries, v1 log %d, TSA %d requests; want 2, 0, 2", svc.LogV2.Size(), svc.Log.Size(), svc.TSA.Requests())
	}
	for name, b := range map[string]*sign.Bundle{"attestation": att.Bundle, "blob": blob} {
		raw, err := b.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			VerificationMaterial struct {
				TlogEntries []struct {
					KindVersion    struct{ Kind, Version string }
					IntegratedTime string
					InclusionProof struct {
						Checkpoint struct{ Envelope string }
					}
					InclusionPromise any
				}
				TimestampVerificationData struct {
					RFC3161Timestamps []any `json:"rfc3161Timestamps"`
				}
			}
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		vm := doc.VerificationMaterial
		if len(vm.TlogEntries) != 1 || len(vm.TimestampVerificationData.RFC3161Timestamps) != 1 {
			t.Fatalf("%s: %d log entries, %d timestamps; want 1 and 1", name, len(vm.TlogEntries), len(vm.TimestampVerificationData.RFC3161Timestamps))
		}
		e := vm.TlogEntries[0]
		if e.KindVersion.Kind != "hashedrekord" || e.KindVersion.Version != "0.0.2" || (e.IntegratedTime != "" && e.IntegratedTime != "0") ||
			e.InclusionPromise != nil || !strings.HasPrefix(e.InclusionProof.Checkpoint.Envelope, "127.0.0.1\n") {
			t.Errorf("%s: entry is not a Rekor v2 entry: %s", name, raw)
		}
	}
}

// Services that could only make a bundle nothing dates are refused before
// a certificate is asked for or anything is logged (fails on main: a v2
// log was not known, and a keyless signer without log and timestamp
// authority made bundles no verifier accepts).
func TestNoSigningTimeRefused(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	v2 := keyless.RekorLog{URL: svc.RekorV2URL(), APIVersion: keyless.RekorV2}
	v1 := keyless.RekorLog{URL: svc.RekorURL(), APIVersion: keyless.RekorV1}
	tok, _ := svc.Issuer.EmailToken("builder@example.com")
	for _, tc := range []struct {
		name   string
		logs   []keyless.RekorLog
		tsa    bool
		noTime bool // ErrNoSigningTime; else only ErrConfig
	}{
		{"v2 only, no TSA", []keyless.RekorLog{v2}, false, true},
		{"v1 and v2, no TSA", []keyless.RekorLog{v1, v2}, false, true},
		{"no log, no TSA", nil, false, true},
		{"unknown API version", []keyless.RekorLog{{URL: svc.RekorV2URL(), APIVersion: 3}}, true, false},
		{"log without URL", []keyless.RekorLog{{APIVersion: keyless.RekorV2}}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := keyless.Services{FulcioURL: svc.FulcioURL(), Rekor: tc.logs}
			if tc.tsa {
				srv.TSAURLs = []string{svc.TSAURL()}
			}
			before := svc.CA.Requests()
			_, err := keyless.NewSigner(ctx, keyless.WithServices(srv), keyless.WithToken(keyless.StaticToken(tok)))
			if !errors.Is(err, keyless.ErrConfig) || errors.Is(err, keyless.ErrNoSigningTime) != tc.noTime {
				t.Fatalf("NewSigner: err = %v; want ErrConfig, ErrNoSigningTime %v", err, tc.noTime)
			}
			if svc.CA.Requests() != before {
				t.Error("the CA was asked for a certificate")
			}
			// The same services given to an existing signer's bundles.
			s := newSigner(t, svc)
			env, _ := sign.SignStatement(ctx, []byte(statement), s)
			if _, err := keyless.KeyBundle(ctx, env, s, keyless.WithServices(srv)); !errors.Is(err, keyless.ErrConfig) ||
				errors.Is(err, keyless.ErrNoSigningTime) != tc.noTime {
				t.Errorf("KeyBundle: err = %v", err)
			}
			if svc.LogV2.Size() != 0 {
				t.Error("the v2 log got an entry")
			}
		})
	}
	// A key signer's v2 entry needs a timestamp too; with no log and no
	// timestamp authority it gets an offline bundle, as before.
	key, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	env, _ := sign.SignStatement(ctx, []byte(statement), key)
	if _, err := keyless.KeyBundle(ctx, env, key, keyless.WithRekor(v2)); !errors.Is(err, keyless.ErrNoSigningTime) {
		t.Errorf("key signer, v2 without TSA: err = %v", err)
	}
	if _, err := keyless.KeyBundle(ctx, env, key, keyless.WithRekor(v2), keyless.WithTSAURLs(svc.TSAURL())); err != nil {
		t.Errorf("key signer, v2 with TSA: %v", err)
	}
	if _, err := keyless.KeyBundle(ctx, env, key, keyless.WithRekor()); err != nil {
		t.Errorf("key signer, offline: %v", err)
	}
}

// scService is one signing-config service entry.
type scService struct {
	url        string
	version    int
	operator   string
	start, end time.Time
}

func signingConfig(ca string, logs []scService, logSel string, tsas []scService) []byte {
	now := time.Now()
	enc := func(ss []scService) []any {
		out := []any{}
		for _, s := range ss {
			vf := map[string]any{"start": s.start.UTC().Format(time.RFC3339)}
			if s.start.IsZero() {
				vf["start"] = now.Add(-time.Hour).UTC().Format(time.RFC3339)
			}
			if !s.end.IsZero() {
				vf["end"] = s.end.UTC().Format(time.RFC3339)
			}
			op := s.operator
			if op == "" {
				op = "op"
			}
			out = append(out, map[string]any{"url": s.url, "majorApiVersion": s.version, "operator": op, "validFor": vf})
		}
		return out
	}
	doc := map[string]any{
		"mediaType":     "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":        enc([]scService{{url: ca, version: 1}}),
		"rekorTlogUrls": enc(logs),
		"tsaUrls":       enc(tsas),
		"tsaConfig":     map[string]any{"selector": "ANY"},
	}
	if logSel != "" {
		sel, count, _ := strings.Cut(logSel, ":")
		cfg := map[string]any{"selector": sel}
		if count != "" {
			var n int
			fmt.Sscan(count, &n)
			cfg["count"] = n
		}
		doc["rekorTlogConfig"] = cfg
	}
	b, _ := json.Marshal(doc)
	return b
}

// A signing config chooses the logs like cosign v3 and sigstore-go: the
// highest API version with a service valid now, one per operator, as the
// selector says; unknown versions are passed over; and a choice that could
// never verify is refused (the v2 cases fail on main, which read v1 only).
func TestSigningConfigLogVersions(t *testing.T) {
	now := time.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	v1 := scService{url: "https://rekor.test", version: 1}
	v2 := scService{url: "https://log2025.rekor.test", version: 2}
	v2b := scService{url: "https://log2026.rekor.test", version: 2, operator: "other"}
	v2expired := scService{url: "https://log2024.rekor.test", version: 2, end: past}
	v2later := scService{url: "https://log2027.rekor.test", version: 2, start: future}
	v3 := scService{url: "https://rekor3.test", version: 3}
	tsa := []scService{{url: "https://tsa.test/api/v1/timestamp", version: 1}}
	type log = keyless.RekorLog
	for _, tc := range []struct {
		name string
		logs []scService
		sel  string
		tsas []scService
		want []log // nil: an error
		err  error
	}{
		{"v1 only", []scService{v1}, "ANY", tsa, []log{{URL: v1.url, APIVersion: 1}}, nil},
		{"v1 only, no TSA", []scService{v1}, "ANY", nil, []log{{URL: v1.url, APIVersion: 1}}, nil},
		{"v2 only", []scService{v2}, "ANY", tsa, []log{{URL: v2.url, APIVersion: 2}}, nil},
		{"both: v2 wins", []scService{v1, v2}, "ANY", tsa, []log{{URL: v2.url, APIVersion: 2}}, nil},
		{"v2 expired: v1", []scService{v1, v2expired}, "ANY", tsa, []log{{URL: v1.url, APIVersion: 1}}, nil},
		{"v2 not yet valid: v1", []scService{v1, v2later}, "ANY", tsa, []log{{URL: v1.url, APIVersion: 1}}, nil},
		{"unknown v3 passed over", []scService{v3, v1}, "ANY", tsa, []log{{URL: v1.url, APIVersion: 1}}, nil},
		{"ALL: every operator", []scService{v1, v2, v2b}, "ALL", tsa, []log{{URL: v2b.url, APIVersion: 2}, {URL: v2.url, APIVersion: 2}}, nil},
		{"EXACT 2", []scService{v2, v2b}, "EXACT:2", tsa, []log{{URL: v2b.url, APIVersion: 2}, {URL: v2.url, APIVersion: 2}}, nil},
		{"EXACT 2 of 1", []scService{v2}, "EXACT:2", tsa, nil, keyless.ErrConfig},
		{"only v3", []scService{v3}, "ANY", tsa, nil, keyless.ErrConfig},
		{"only expired", []scService{v2expired}, "ANY", tsa, nil, keyless.ErrConfig},
		{"v2 without TSA", []scService{v1, v2}, "ANY", nil, nil, keyless.ErrNoSigningTime},
		{"no log, no TSA", nil, "", nil, nil, keyless.ErrNoSigningTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keyless.ServicesFromSigningConfig(signingConfig("https://fulcio.test", tc.logs, tc.sel, tc.tsas), now)
			if tc.want == nil {
				if !errors.Is(err, tc.err) || !errors.Is(err, keyless.ErrConfig) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rekor) != len(tc.want) {
				t.Fatalf("logs = %+v, want %+v", got.Rekor, tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got.Rekor {
					found = found || g == w
				}
				if !found {
					t.Errorf("logs = %+v, want %+v", got.Rekor, tc.want)
				}
			}
			if got.FulcioURL != "https://fulcio.test" || len(got.TSAURLs) != len(tc.tsas) {
				t.Errorf("services = %+v", got)
			}
		})
	}
}

// The loopback services' signing config, which advertises both logs,
// signs through the v2 log (and its TSA) end to end.
func TestSigningConfigV2EndToEnd(t *testing.T) {
	svc := keylesstest.New(t)
	sc, err := svc.SigningConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := svc.Issuer.EmailToken("builder@example.com")
	s, err := keyless.NewSigner(context.Background(), keyless.WithSigningConfig(sc), keyless.WithToken(keyless.StaticToken(tok)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignBlob(context.Background(), bytes.NewReader([]byte("blob")), s); err != nil {
		t.Fatal(err)
	}
	if svc.LogV2.Size() != 1 || svc.Log.Size() != 0 {
		t.Errorf("v2 log %d, v1 log %d entries", svc.LogV2.Size(), svc.Log.Size())
	}
}

// countingToken counts the times a token was asked for.
type countingToken struct{ n *int }

func (c countingToken) Token(context.Context) (string, error) { *c.n++; return "token", nil }

// The ID token goes to the certificate authority: over plain http to
// another host, anyone on the path takes it and gets a certificate of the
// signer's identity. Every service URL, from options or a signing config,
// must be https, or http to a loopback host; otherwise NewSigner fails
// (ErrInsecureService, ErrConfig) before the token is even read. Fails on
// main, which took any URL.
func TestServiceURLsMustBeHTTPS(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	tsa := []scService{{url: "https://tsa.test/api/v1/timestamp", version: 1}}
	log := []scService{{url: "https://rekor.test", version: 1}}
	ok := keyless.Services{FulcioURL: "https://fulcio.test", Rekor: []keyless.RekorLog{{URL: "https://rekor.test"}}, TSAURLs: []string{"https://tsa.test/ts"}}
	for _, tc := range []struct {
		name string
		edit func(*keyless.Services)
		sc   []byte
	}{
		{"http CA", func(s *keyless.Services) { s.FulcioURL = "http://fulcio.test" }, signingConfig("http://fulcio.test", log, "ANY", tsa)},
		{"HTTP CA, upper case", func(s *keyless.Services) { s.FulcioURL = "HTTP://fulcio.test" }, signingConfig("HTTP://fulcio.test", log, "ANY", tsa)},
		{"http log", func(s *keyless.Services) { s.Rekor[0].URL = "http://rekor.test" }, signingConfig("https://fulcio.test", []scService{{url: "http://rekor.test", version: 1}}, "ANY", tsa)},
		{"http TSA", func(s *keyless.Services) { s.TSAURLs[0] = "http://tsa.test/ts" }, signingConfig("https://fulcio.test", log, "ANY", []scService{{url: "http://tsa.test/ts", version: 1}})},
		{"other scheme", func(s *keyless.Services) { s.FulcioURL = "ftp://fulcio.test" }, signingConfig("ftp://fulcio.test", log, "ANY", tsa)},
		{"no host", func(s *keyless.Services) { s.FulcioURL = "https:///path" }, signingConfig("https:///path", log, "ANY", tsa)},
		{"relative", func(s *keyless.Services) { s.FulcioURL = "fulcio.test" }, signingConfig("fulcio.test", log, "ANY", tsa)},
		{"loopback name as a subdomain", func(s *keyless.Services) { s.FulcioURL = "http://localhost.evil.test" }, signingConfig("http://localhost.evil.test", log, "ANY", tsa)},
		{"loopback as user info", func(s *keyless.Services) { s.FulcioURL = "http://127.0.0.1@evil.test" }, signingConfig("http://127.0.0.1@evil.test", log, "ANY", tsa)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ok
			srv.Rekor = append([]keyless.RekorLog(nil), ok.Rekor...)
			srv.TSAURLs = append([]string(nil), ok.TSAURLs...)
			tc.edit(&srv)
			asked := 0
			_, err := keyless.NewSigner(ctx, keyless.WithServices(srv), keyless.WithToken(countingToken{&asked}))
			if !errors.Is(err, keyless.ErrConfig) {
				t.Errorf("NewSigner: %v, want ErrConfig", err)
			}
			if asked != 0 {
				t.Errorf("the token was read %d times", asked)
			}
			if _, err := keyless.ServicesFromSigningConfig(tc.sc, now); !errors.Is(err, keyless.ErrConfig) {
				t.Errorf("ServicesFromSigningConfig: %v, want ErrConfig", err)
			}
		})
	}
	_, err := keyless.NewSigner(ctx, keyless.WithServices(keyless.Services{FulcioURL: "http://fulcio.test", Rekor: ok.Rekor}), keyless.WithToken(countingToken{new(int)}))
	if !errors.Is(err, keyless.ErrInsecureService) {
		t.Errorf("http CA: %v, want ErrInsecureService", err)
	}
	// Loopback services over plain http stay usable (tests, local stacks).
	for _, u := range []string{"http://127.0.0.1:5555", "http://[::1]:5555", "http://localhost:5555", "https://fulcio.test"} {
		if _, err := keyless.ServicesFromSigningConfig(signingConfig(u, log, "ANY", tsa), now); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
