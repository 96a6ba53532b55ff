package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"(built by the trusted builder, signed)\n  ALLOWED",
		"(signed, but built on a laptop)\n  DENIED: ",
		`builder: unexpected builder (want "https://builders.example.com/images@v1", got "https://laptop.example.com/me")`,
		"(unsigned)\n  DENIED: ", "no trusted attestation",
		"(by tag)\n  DENIED: ", "not pinned by digest",
		"(multi-arch, pinned by index digest)\n  ALLOWED",
		"(multi-arch, pinned by its linux/arm64 digest)\n  ALLOWED",
		"(multi-arch, provenance covers linux/amd64 only)\n  DENIED: ", ": linux/arm64: attestations: no trusted attestation",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
}

// webhookSuite runs the webhook against a registry holding a good, a
// rogue and an unsigned image.
func webhookSuite(t *testing.T, host string, push func(t *testing.T, repo string) string) {
	ctx := context.Background()
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	attest := func(ref, builder string) {
		t.Helper()
		name, hex, _ := strings.Cut(ref, "@sha256:")
		env := signedProvenance(t, name, hex, builder, key)
		if _, err := oci.Attach(ctx, ref, &sign.Attestation{Envelope: env}, oci.WithInsecure()); err != nil {
			t.Fatal(err)
		}
	}
	good, rogue, unsigned := push(t, "team/app"), push(t, "team/rogue"), push(t, "team/unsigned")
	attest(good, demoBuilder)
	attest(rogue, "https://laptop.example.com/me")

	eng := demoEngine(t, host, key)
	srv := httptest.NewServer(&Webhook{Engine: eng, Registry: []oci.Option{oci.WithInsecure()}})
	t.Cleanup(srv.Close)

	cases := []struct {
		name    string
		images  []string
		allowed bool
		reason  string
	}{
		{"good image", []string{good}, true, ""},
		{"rogue builder", []string{rogue}, false, "unexpected builder"},
		{"unsigned", []string{unsigned}, false, "no trusted attestation"},
		{"tag only", []string{host + "/team/app:latest"}, false, "not pinned by digest"},
		{"one bad container among good ones", []string{good, good, unsigned}, false, `container "c2"`},
		{"missing image", []string{host + "/team/none@sha256:" + strings.Repeat("0", 64)}, false, "team/none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var containers []map[string]string
			for i, img := range c.images {
				containers = append(containers, map[string]string{"name": "c" + string(rune('0'+i)), "image": img})
			}
			resp := post(t, srv.URL, "Pod", map[string]any{"spec": map[string]any{"containers": containers}})
			if resp.Allowed != c.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, c.allowed, resp.Status)
			}
			if !c.allowed && (resp.Status == nil || resp.Status.Code != 403 || !strings.Contains(resp.Status.Message, c.reason)) {
				t.Fatalf("reason %+v does not mention %q", resp.Status, c.reason)
			}
		})
	}
	t.Run("not a pod", func(t *testing.T) {
		if resp := post(t, srv.URL, "Deployment", map[string]any{}); resp.Allowed {
			t.Fatal("non-pod admitted")
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct {
			method string
			body   []byte
			code   int
		}{
			{http.MethodGet, nil, http.StatusMethodNotAllowed},
			{http.MethodPost, []byte("{"), http.StatusBadRequest},
			{http.MethodPost, []byte(`{"kind":"AdmissionReview"}`), http.StatusBadRequest},
			{http.MethodPost, bytes.Repeat([]byte(" "), maxReviewSize+1), http.StatusRequestEntityTooLarge},
		} {
			req, _ := http.NewRequest(c.method, srv.URL, bytes.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Errorf("%s %d bytes: status %d, want %d", c.method, len(c.body), resp.StatusCode, c.code)
			}
		}
	})
}

func post(t *testing.T, url, kind string, object any) *admissionResponse {
	t.Helper()
	obj, _ := json.Marshal(object)
	body, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{"uid": "u-1", "kind": map[string]string{"kind": kind}, "object": json.RawMessage(obj)}})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil || out.Response.UID != "u-1" {
		t.Fatalf("bad response: %v %+v", err, out)
	}
	return out.Response
}

func signedProvenance(t *testing.T, name, hex, builder string, key sign.Signer) *sign.Envelope {
	t.Helper()
	env, err := provenanceEnvelope(context.Background(), name, hex, builder, key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestWebhookInProcessRegistry(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	webhookSuite(t, reg.Host(), func(t *testing.T, repo string) string { return reg.PushRandomImage(t, repo) })
}

// TestWebhookRealRegistry runs the same suite against a real distribution
// registry process (skipped without SLSAKIT_REGISTRY_BIN, fatal under CI).
func TestWebhookRealRegistry(t *testing.T) {
	reg := regproc.Start(t)
	webhookSuite(t, reg.Host(), func(t *testing.T, repo string) string { return reg.PushRandomImage(t, repo, 512).String() })
}

// An index is judged by the images the cluster's nodes pull from it: one
// with none of their platforms, or whose provenance leaves one of them
// out, is denied; the platforms a cluster does not run do not matter.
func TestMultiArchPlatforms(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := pushAttestedIndex(ctx, reg, "team/partial", key, false) // amd64 covered, arm64 not
	if err != nil {
		t.Fatal(err)
	}
	eng := demoEngine(t, reg.Host(), key)
	for _, tc := range []struct {
		platforms []string
		image     string
		allowed   bool
		reason    string
	}{
		{[]string{"linux/amd64"}, partial.Ref, true, ""},
		{[]string{"linux/amd64", "linux/s390x"}, partial.Ref, true, ""}, // no s390x image: cannot run there
		{[]string{"linux/arm64"}, partial.Ref, false, "linux/arm64: attestations"},
		{[]string{"linux/amd64", "linux/arm64"}, partial.Ref, false, "linux/arm64: attestations"},
		{[]string{"windows/amd64"}, partial.Ref, false, "no image for the cluster's platforms"},
		{[]string{"linux/arm64"}, partial.Platforms["linux/arm64"], false, "no trusted attestation"},
		{[]string{"linux/arm64"}, partial.Platforms["linux/amd64"], false, "no trusted attestation"}, // not attached there
	} {
		srv := httptest.NewServer(&Webhook{Engine: eng, Registry: []oci.Option{oci.WithInsecure()}, Platforms: tc.platforms})
		resp, err := review(ctx, srv.URL, tc.image)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Allowed != tc.allowed || (!tc.allowed && !strings.Contains(resp.Status.Message, tc.reason)) {
			t.Errorf("platforms %v, %s: allowed=%v %+v, want allowed=%v with %q", tc.platforms, tc.image, resp.Allowed, resp.Status, tc.allowed, tc.reason)
		}
	}
}

// demoEngine is the demo policy's engine for images on host signed by key.
func demoEngine(t *testing.T, host string, key sign.Signer) *verify.Engine {
	t.Helper()
	policyPath, err := writeDemoPolicy(t.TempDir(), host, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := verify.LoadPolicyFile(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// A pod pinned by an index that offers an amd64 node a second image, under
// another spelling of linux/amd64 or inside a nested index listed first,
// is denied: containerd on that node may run the second image, while the
// webhook verified the attested one. Allowed on main.
func TestMultiArchPlatformAliasDenied(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	full, err := pushAttestedIndex(ctx, reg, "team/full", key, true)
	if err != nil {
		t.Fatal(err)
	}
	evil := reg.PushRandomImage(t, "team/full") // unattested
	evilIndex := reg.PushRandomIndex(t, "team/full", "linux/amd64").Ref
	good := ocitest.IndexEntry{Ref: full.Platforms["linux/amd64"], Platform: "linux/amd64"}
	srv := httptest.NewServer(&Webhook{Engine: demoEngine(t, reg.Host(), key), Registry: []oci.Option{oci.WithInsecure()}, Platforms: []string{"linux/amd64"}})
	defer srv.Close()
	for name, first := range map[string]ocitest.IndexEntry{
		"x86_64 first":       {Ref: evil, Platform: "linux/x86_64"},
		"Linux first":        {Ref: evil, Platform: "Linux/amd64"},
		"nested index first": {Ref: evilIndex, Platform: "linux/amd64"},
	} {
		ref := reg.PushRawIndex(t, "team/full", "evil", first, good)
		if resp, err := review(ctx, srv.URL, ref); err != nil || resp.Allowed {
			t.Errorf("%s: index offering amd64 nodes an unattested image: allowed=%v, %v", name, resp != nil && resp.Allowed, err)
		}
	}
	// The attested index itself is still allowed.
	if resp, err := review(ctx, srv.URL, full.Ref); err != nil || !resp.Allowed {
		t.Errorf("attested index: %+v, %v", resp, err)
	}
}
