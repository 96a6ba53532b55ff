package verify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// fakeRegistry maps "repo@sha256:hex" to attestations and records fetches.
type fakeRegistry struct {
	mu      sync.Mutex
	atts    map[string][]*sign.Envelope
	fetched []string
	fail    map[string]error
}

func (f *fakeRegistry) Fetch(_ context.Context, image string) ([]*sign.Attestation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched = append(f.fetched, image)
	if err := f.fail[image]; err != nil {
		return nil, err
	}
	return attsOf(f.atts[image]...), nil
}

func imageDigest(s string) string { return digestOf(s)["sha256"] }

// imageBuild is a provenance for image `name` whose materials are images.
func imageBuild(t *testing.T, name string, builder string, bases ...string) []byte {
	t.Helper()
	var mats []intoto.ResourceDescriptor
	for _, b := range bases {
		mats = append(mats, intoto.ResourceDescriptor{URI: "oci://registry.example.com/" + b, Digest: intoto.DigestSet{"sha256": imageDigest(b)}})
	}
	if mats == nil {
		mats = []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}
	}
	b := build{builder: builder, materials: mats, subject: name, params: map[string]any{"target": "release"}}
	return b.statement(t)
}

func TestDependencies(t *testing.T) {
	ctx := context.Background()
	appKey, baseKey := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("app")}
	policy := func(deps string) *verify.Policy {
		doc := "version: 1\nbuilders:\n  - id: " + builderID + "\ndependencies:\n" + deps +
			"signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, appKey)) + "\n"
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		return p
	}
	at := func(name string) string { return "registry.example.com/" + name + "@sha256:" + imageDigest(name) }

	type setup struct {
		atts map[string][]*sign.Envelope
		fail map[string]error
	}
	cases := []struct {
		name    string
		deps    string
		app     []byte
		setup   func(t *testing.T) setup
		want    []error
		fetched []string
	}{
		{
			name: "base image verified", deps: "  maxDepth: 1\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", builderID), appKey)}}}
			},
			fetched: []string{at("base")},
		},
		{
			name: "base image without attestations", deps: "  maxDepth: 1\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup { return setup{} },
			want:  []error{verify.ErrDependency, verify.ErrNoAttestation},
		},
		{
			name: "base image from an untrusted builder", deps: "  maxDepth: 1\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", "https://evil.example.com/b"), appKey)}}}
			},
			want: []error{verify.ErrDependency, verify.ErrBuilder},
		},
		{
			name: "fetch fails", deps: "  maxDepth: 1\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{fail: map[string]error{at("base"): errors.New("registry down")}}
			},
			want: []error{verify.ErrDependency},
		},
		{
			name: "maxDepth bounds the walk", deps: "  maxDepth: 1\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", builderID, "grandbase"), appKey)}}}
			},
			fetched: []string{at("base")}, // grandbase is beyond maxDepth: skipped, not fetched
		},
		{
			name: "depth 2 reaches the grandparent", deps: "  maxDepth: 2\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", builderID, "grandbase"), appKey)}}}
			},
			want: []error{verify.ErrDependency, verify.ErrNoAttestation}, // grandbase has none
		},
		{
			name: "cycle detected", deps: "  maxDepth: 5\n", app: imageBuild(t, "app", builderID, "base"),
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{
					at("base"): {envelope(t, imageBuild(t, "base", builderID, "app"), appKey)},
				}}
			},
			want: []error{verify.ErrDependency},
		},
		{
			name: "dependency policy trusts other keys", app: imageBuild(t, "app", builderID, "base"),
			deps: "  policy:\n    signers:\n      - artifacts: \"registry.example.com/base\"\n        keys:\n          - pem: |\n              " +
				strings.ReplaceAll(indent(pubPEM(t, baseKey)), "\n          ", "\n              ") + "\n",
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", "https://other.example.com/b"), baseKey)}}}
			},
		},
		{
			name: "dependency policy: app key not trusted for base", app: imageBuild(t, "app", builderID, "base"),
			deps: "  policy:\n    signers:\n      - artifacts: \"registry.example.com/base\"\n        keys:\n          - pem: |\n              " +
				strings.ReplaceAll(indent(pubPEM(t, baseKey)), "\n          ", "\n              ") + "\n",
			setup: func(t *testing.T) setup {
				return setup{atts: map[string][]*sign.Envelope{at("base"): {envelope(t, imageBuild(t, "base", builderID), appKey)}}}
			},
			want: []error{verify.ErrDependency, verify.ErrNoAttestation},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := c.setup(t)
			reg := &fakeRegistry{atts: st.atts, fail: st.fail}
			eng, err := verify.NewEngine(ctx, policy(c.deps), verify.WithFetcher(reg), verify.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			app := envelope(t, c.app, appKey)
			rep, err := eng.Evaluate(ctx, art, attsOf(app))
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want errors.Is %v", err, w)
				}
			}
			if len(c.want) == 0 && err != nil {
				t.Errorf("want pass, got %v", err)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("report:\n%s", rep)
			}
			if strings.Contains(c.name, "cycle") && !strings.Contains(rep.String(), "cycle:") {
				t.Errorf("cycle not named in the report")
			}
			if c.fetched != nil && fmt.Sprint(reg.fetched) != fmt.Sprint(c.fetched) {
				t.Errorf("fetched %v, want %v", reg.fetched, c.fetched)
			}
		})
	}

	// A policy with dependencies but no fetcher is refused up front.
	if _, err := verify.NewEngine(ctx, policy("  maxDepth: 1\n")); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatalf("no fetcher: %v", err)
	}
}
