package verify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// graph is an in-memory registry of images whose provenances, signed on
// first fetch with key, name the images deps returns as materials. It
// records every fetch, as an attacker's registry would see them.
type graph struct {
	t    *testing.T
	key  sign.Signer
	deps func(name string) []string
	// copies is how many attestations each image has (default 1); they are
	// identical statements, signed once each.
	copies int
	// onFetch, when set, runs after each fetch with its count.
	onFetch func(n int)
	// block makes every fetch wait for its context to be done.
	block bool

	mu      sync.Mutex
	fetched []string
	signed  map[string][]*sign.Envelope
}

func (g *graph) Fetch(ctx context.Context, image string) ([]*sign.Attestation, error) {
	g.mu.Lock()
	g.fetched = append(g.fetched, image)
	n := len(g.fetched)
	g.mu.Unlock()
	if g.onFetch != nil {
		defer g.onFetch(n)
	}
	if g.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	repo, _, _ := strings.Cut(image, "@")
	name := strings.TrimPrefix(repo, "registry.example.com/")
	g.mu.Lock()
	defer g.mu.Unlock()
	if envs, ok := g.signed[name]; ok {
		return attsOf(envs...), nil
	}
	stmt := imageBuild(g.t, name, builderID, g.deps(name)...)
	var envs []*sign.Envelope
	for range max(g.copies, 1) {
		envs = append(envs, envelope(g.t, stmt, g.key))
	}
	if g.signed == nil {
		g.signed = map[string][]*sign.Envelope{}
	}
	g.signed[name] = envs
	return attsOf(envs...), nil
}

func (g *graph) fetches() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.fetched)
}

// depsPolicy trusts key for every artifact and checks dependencies to
// maxDepth.
func depsPolicy(t *testing.T, key sign.Signer, maxDepth int) *verify.Policy {
	t.Helper()
	doc := fmt.Sprintf("version: 1\nbuilders:\n  - id: %s\ndependencies:\n  maxDepth: %d\n", builderID, maxDepth) +
		"signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return p
}

// evaluateGraph evaluates image "n0" of g under depsPolicy.
func evaluateGraph(t *testing.T, ctx context.Context, g *graph, maxDepth int, opts ...verify.EngineOption) (*verify.Report, error) {
	t.Helper()
	// No deadline a loaded machine could reach: the tests count work, and
	// the one about time sets its own.
	opts = append([]verify.EngineOption{verify.WithFetcher(g), verify.WithClock(func() time.Time { return now }),
		verify.WithBudget(verify.Budget{Time: time.Hour})}, opts...)
	eng, err := verify.NewEngine(ctx, depsPolicy(t, g.key, maxDepth), opts...)
	if err != nil {
		t.Fatal(err)
	}
	root := envelope(t, imageBuild(t, "n0", builderID, g.deps("n0")...), g.key)
	return eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/n0", Digest: digestOf("n0")}, attsOf(root))
}

// completeDAG: image i depends on every image j > i, the worst case of a
// walk that follows every path (2^(n-2) paths from the first to the last).
func completeDAG(n int) func(string) []string {
	return func(name string) []string {
		var i int
		fmt.Sscanf(name, "n%d", &i)
		var out []string
		for j := i + 1; j < n; j++ {
			out = append(out, fmt.Sprintf("n%d", j))
		}
		return out
	}
}

// reports counts the reports of a tree and those marked reused.
func reports(r *verify.Report) (all, reused int) {
	all = 1
	if r.Reused != nil {
		reused = 1
	}
	for _, d := range r.Dependencies {
		a, u := reports(d)
		all, reused = all+a, reused+u
	}
	return all, reused
}

// noRepeats fails when an image was fetched twice.
func noRepeats(t *testing.T, fetched []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fetched {
		if seen[f] {
			t.Errorf("%s fetched twice", f)
		}
		seen[f] = true
	}
}

// TestDependencyDAGFetchesEachImageOnce: on a DAG where every image
// depends on every later one, each image is fetched once and the verdicts
// of shared dependencies are reused. On main the walk followed every path:
// 2^18 evaluations for 20 images (the fetch count fails at any size).
func TestDependencyDAGFetchesEachImageOnce(t *testing.T) {
	const n = 20
	g := &graph{t: t, key: genKey(t, sign.Ed25519), deps: completeDAG(n)}
	rep, err := evaluateGraph(t, context.Background(), g, 16)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	fetched := g.fetches()
	if len(fetched) != n-1 {
		t.Errorf("%d fetches, want %d (each dependency once)", len(fetched), n-1)
	}
	noRepeats(t, fetched)
	// An image is judged afresh at most once per depth it is met at (a
	// verdict reached with fewer levels below it checked cannot stand for
	// more), so at most 17 times here; every other meeting reuses one.
	all, reused := reports(rep)
	if fresh := all - reused; fresh > 1+(n-1)*17 || reused == 0 {
		t.Errorf("%d reports judged afresh, %d reused; want at most %d afresh", fresh, reused, 1+(n-1)*17)
	}
	if s := rep.String(); !strings.Contains(s, "reused: judged earlier") || strings.Count(s, "\n") > 4*all {
		t.Errorf("report of %d lines for %d reports", strings.Count(s, "\n"), all)
	}
}

// TestDependencyCompleteGraphIsACycle: when every image depends on every
// other, the walk fails on the cycle and still fetches each image once
// (on main: every path, exponentially many).
func TestDependencyCompleteGraphIsACycle(t *testing.T) {
	const n = 12
	g := &graph{t: t, key: genKey(t, sign.Ed25519), deps: func(name string) []string {
		var out []string
		for j := 0; j < n; j++ {
			if other := fmt.Sprintf("n%d", j); other != name {
				out = append(out, other)
			}
		}
		return out
	}}
	rep, err := evaluateGraph(t, context.Background(), g, 16)
	if !errors.Is(err, verify.ErrDependency) || !strings.Contains(rep.String(), "cycle:") {
		t.Fatalf("want a cycle, got %v", err)
	}
	if fetched := g.fetches(); len(fetched) != n-1 {
		t.Errorf("%d fetches, want %d", len(fetched), n-1)
	}
	noRepeats(t, g.fetches())
}

// TestDependencyDiamond: two bases sharing a grandbase is not a cycle; the
// grandbase is fetched and judged once, its second meeting reported as
// reused with the same verdict, failures included.
func TestDependencyDiamond(t *testing.T) {
	for _, bad := range []bool{false, true} {
		t.Run(fmt.Sprintf("grandbase fails %v", bad), func(t *testing.T) {
			key := genKey(t, sign.Ed25519)
			g := &graph{t: t, key: key, deps: func(name string) []string {
				return map[string][]string{"n0": {"a", "b"}, "a": {"d"}, "b": {"d"}}[name]
			}}
			if bad {
				// d's attestation is signed by a key the policy does not trust.
				g.signed = map[string][]*sign.Envelope{"d": {envelope(t, imageBuild(t, "d", builderID), genKey(t, sign.Ed25519))}}
			}
			rep, err := evaluateGraph(t, context.Background(), g, 3)
			if bad != (err != nil) {
				t.Fatalf("err = %v\n%s", err, rep)
			}
			if bad && (!errors.Is(err, verify.ErrNoAttestation) || strings.Contains(rep.String(), "cycle")) {
				t.Errorf("want d's own failure, no cycle: %v\n%s", err, rep)
			}
			if fetched := g.fetches(); len(fetched) != 3 {
				t.Errorf("fetched %v, want a, b and d once each", fetched)
			}
			b := rep.Dependencies[1]
			if len(b.Dependencies) != 1 || b.Dependencies[0].Reused == nil || b.Dependencies[0].Reused != rep.Dependencies[0].Dependencies[0] {
				t.Fatalf("b's d is not marked as reusing a's:\n%s", rep)
			}
			if b.Dependencies[0].Passed() == bad {
				t.Errorf("the reused verdict differs from the original")
			}
		})
	}
}

// TestDependencyCycleThroughReusedVerdict: a verdict reused from another
// path must not hide a cycle. x and z depend on each other; reached first
// through w, z is at the depth limit and x passes; reached from z, x's
// reused pass would lead back to z on the current path, so it fails.
func TestDependencyCycleThroughReusedVerdict(t *testing.T) {
	g := &graph{t: t, key: genKey(t, sign.Ed25519), deps: func(name string) []string {
		return map[string][]string{"n0": {"w", "z"}, "w": {"x"}, "x": {"z"}, "z": {"x"}}[name]
	}}
	rep, err := evaluateGraph(t, context.Background(), g, 3)
	if !errors.Is(err, verify.ErrDependency) || !strings.Contains(rep.String(), "cycle:") {
		t.Fatalf("want the x-z cycle to fail, got %v\n%s", err, rep)
	}
	noRepeats(t, g.fetches())
}

// TestDependencySameDigestOtherName: the verdict about a digest is reused
// only under the same name, which picks the signer rule: the same bytes
// pushed to a repository the key is not trusted for fail there.
func TestDependencySameDigestOtherName(t *testing.T) {
	ctx := context.Background()
	key, other := genKey(t, sign.Ed25519), genKey(t, sign.Ed25519)
	doc := "version: 1\ndependencies:\n  maxDepth: 1\nsigners:\n" +
		"  - artifacts: \"registry.example.com/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n" +
		"  - artifacts: \"registry.example.com/other/*\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, other)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	base := envelope(t, imageBuild(t, "base", builderID), key)
	reg := &fakeRegistry{atts: map[string][]*sign.Envelope{
		"registry.example.com/base@sha256:" + imageDigest("base"):       {base},
		"registry.example.com/other/base@sha256:" + imageDigest("base"): {base},
	}}
	eng, err := verify.NewEngine(ctx, p, verify.WithFetcher(reg))
	if err != nil {
		t.Fatal(err)
	}
	stmt := build{subject: "app", params: map[string]any{"target": "release"}, materials: []intoto.ResourceDescriptor{
		{URI: "oci://registry.example.com/base", Digest: intoto.DigestSet{"sha256": imageDigest("base")}},
		{URI: "oci://registry.example.com/other/base", Digest: intoto.DigestSet{"sha256": imageDigest("base")}},
	}}.statement(t)
	rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("app")}, attsOf(envelope(t, stmt, key)))
	if !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("other/base signed by the wrong key passed: %v\n%s", err, rep)
	}
	if len(rep.Dependencies) != 2 || rep.Dependencies[1].Reused != nil || !rep.Dependencies[0].Passed() {
		t.Fatalf("want base passing and other/base judged afresh:\n%s", rep)
	}
}

// infiniteTree: every image has fanout distinct dependencies, forever.
func infiniteTree(fanout int) func(string) []string {
	return func(name string) []string {
		var out []string
		for i := range fanout {
			out = append(out, fmt.Sprintf("%s/%d", name, i))
		}
		return out
	}
}

// TestBudget: a graph beyond a limit fails with a *BudgetError naming it,
// having spent no more than the limit.
func TestBudget(t *testing.T) {
	cases := []struct {
		name     string
		g        *graph
		maxDepth int
		budget   verify.Budget
		limit    string
		check    func(t *testing.T, g *graph)
	}{
		{
			name: "default fetches", g: &graph{deps: infiniteTree(8)}, maxDepth: 16, limit: "Fetches",
			check: func(t *testing.T, g *graph) {
				if n := len(g.fetches()); n != verify.DefaultMaxFetches {
					t.Errorf("%d fetches, want %d", n, verify.DefaultMaxFetches)
				}
			},
		},
		{
			name: "lowered fetches", g: &graph{deps: infiniteTree(3)}, maxDepth: 16, budget: verify.Budget{Fetches: 5}, limit: "Fetches",
			check: func(t *testing.T, g *graph) {
				if n := len(g.fetches()); n != 5 {
					t.Errorf("%d fetches, want 5", n)
				}
			},
		},
		{
			name: "attestations", g: &graph{deps: infiniteTree(2), copies: 4}, maxDepth: 16, budget: verify.Budget{Attestations: 10}, limit: "Attestations",
			check: func(t *testing.T, g *graph) {
				// The root's 1, then 4 per image: the third image would pass 10.
				if n := len(g.fetches()); n != 3 {
					t.Errorf("%d fetches, want 3", n)
				}
			},
		},
		{
			name: "dependencies", g: &graph{deps: completeDAG(12)}, maxDepth: 16, budget: verify.Budget{Dependencies: 30}, limit: "Dependencies",
		},
		{
			name: "time", g: &graph{deps: infiniteTree(1), block: true}, maxDepth: 1, budget: verify.Budget{Time: time.Millisecond}, limit: "Time",
		},
		{
			name: "attestations per artifact", g: &graph{deps: infiniteTree(1), copies: 5}, maxDepth: 1, budget: verify.Budget{AttestationsPerArtifact: 4}, limit: "AttestationsPerArtifact",
		},
		{
			name: "image materials", g: &graph{deps: infiniteTree(5)}, maxDepth: 1, budget: verify.Budget{ImageMaterials: 4}, limit: "ImageMaterials",
			check: func(t *testing.T, g *graph) {
				if n := len(g.fetches()); n != 0 {
					t.Errorf("%d fetches, want none", n)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.g
			g.t, g.key = t, genKey(t, sign.Ed25519)
			if c.budget.Time == 0 {
				c.budget.Time = time.Hour // the limit tested, not the default deadline, must be reached
			}
			rep, err := evaluateGraph(t, context.Background(), g, c.maxDepth, verify.WithBudget(c.budget))
			var be *verify.BudgetError
			if !errors.Is(err, verify.ErrBudget) || !errors.As(err, &be) || be.Limit != c.limit {
				t.Fatalf("err = %v, want a BudgetError for %s", err, c.limit)
			}
			// The deadline may pass anywhere, even before the first
			// dependency on a loaded machine: only it is not sure to be
			// reached among the dependencies.
			if !errors.Is(err, verify.ErrDependency) && c.limit != "Time" {
				t.Errorf("err = %v, want ErrDependency too", err)
			}
			if c.limit == "Time" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded too", err)
			}
			if rep.Passed() {
				t.Error("the report passes")
			}
			noRepeats(t, g.fetches())
			if c.check != nil {
				c.check(t, g)
			}
		})
	}

	// The top-level artifact's own attestations count too.
	t.Run("top-level attestations per artifact", func(t *testing.T) {
		ctx := context.Background()
		key := genKey(t, sign.Ed25519)
		eng, err := verify.NewEngine(ctx, depsPolicy(t, key, 1), verify.WithFetcher(&graph{}), verify.WithBudget(verify.Budget{AttestationsPerArtifact: 2, Time: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		env := envelope(t, imageBuild(t, "n0", builderID), key)
		_, err = eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/n0", Digest: digestOf("n0")}, attsOf(env, env, env))
		var be *verify.BudgetError
		if !errors.As(err, &be) || be.Limit != "AttestationsPerArtifact" || be.Budget.AttestationsPerArtifact != 2 {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestDependencyWalkCancelled: a context cancelled during the walk stops it
// at once: no fetch after the one that saw the cancellation, and an error
// matching context.Canceled (not ErrBudget). On main the walk went on
// through the whole tree, fetching.
func TestDependencyWalkCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &graph{deps: infiniteTree(4), onFetch: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	g.t, g.key = t, genKey(t, sign.Ed25519)
	rep, err := evaluateGraph(t, ctx, g, 4)
	if !errors.Is(err, context.Canceled) || errors.Is(err, verify.ErrBudget) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Passed() {
		t.Error("the report passes")
	}
	if n := len(g.fetches()); n != 3 {
		t.Errorf("%d fetches, want 3", n)
	}
}

// BenchmarkDependencyDAG evaluates an image of a complete DAG of n images
// (each depends on every later one) with dependencies checked to depth 16:
// on main the walk follows all 2^(n-2) paths, here each image is fetched
// once and judged at most once per depth.
func BenchmarkDependencyDAG(b *testing.B) {
	ctx := context.Background()
	t := &testing.T{}
	for _, n := range []int{8, 12, 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := &graph{t: t, key: genKey(t, sign.Ed25519), deps: completeDAG(n)}
			eng, err := verify.NewEngine(ctx, depsPolicy(t, g.key, 16), verify.WithFetcher(g), verify.WithClock(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			root := []*sign.Envelope{envelope(t, imageBuild(t, "n0", builderID, g.deps("n0")...), g.key)}
			art := intoto.ResourceDescriptor{Name: "registry.example.com/n0", Digest: digestOf("n0")}
			if _, err := eng.Evaluate(ctx, art, attsOf(root...)); err != nil {
				b.Fatal(err)
			}
			g.fetched = nil
			for b.Loop() {
				if _, err := eng.Evaluate(ctx, art, attsOf(root...)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(g.fetches()))/float64(b.N), "fetches/op")
		})
	}
}
