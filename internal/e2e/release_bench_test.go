package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

var releasePlatforms = []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/arm"}

// releaseIndexes is how many multi-arch images BenchmarkRelease attaches
// to: 30 (Kubernetes) unless SLSAKIT_RELEASE_INDEXES says otherwise (the
// cosign loop costs about a second per image).
func releaseIndexes(b *testing.B) int {
	if s := os.Getenv("SLSAKIT_RELEASE_INDEXES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("SLSAKIT_RELEASE_INDEXES=%q", s)
		}
		return n
	}
	return 30
}

// pushRelease pushes n indexes of 5 small platform images each and
// returns, per index, its digest and its platform images' digests.
func pushRelease(b testing.TB, reg *regproc.Registry, prefix string, n int) [][]name.Digest {
	b.Helper()
	out := make([][]name.Digest, n)
	for i := range n {
		var adds []mutate.IndexAddendum
		for _, p := range releasePlatforms {
			img, err := random.Image(128, 1)
			if err != nil {
				b.Fatal(err)
			}
			pl, err := oci.ParsePlatform(p)
			if err != nil {
				b.Fatal(err)
			}
			adds = append(adds, mutate.IndexAddendum{Add: mutate.MediaType(img, types.OCIManifestSchema1), Descriptor: v1.Descriptor{Platform: &pl}})
		}
		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
		tag, err := name.NewTag(fmt.Sprintf("%s/%s/img-%02d:v1", reg.Host(), prefix, i), name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		if err := remote.WriteIndex(tag, idx); err != nil {
			b.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		d, _ := idx.Digest()
		refs := []name.Digest{tag.Context().Digest(d.String())}
		for _, m := range im.Manifests {
			refs = append(refs, tag.Context().Digest(m.Digest.String()))
		}
		out[i] = refs
	}
	return out
}

// multiStatement is a statement about every digest in refs.
func multiStatement(b *testing.B, predicateType string, predicate any, refs ...name.Digest) []byte {
	b.Helper()
	var subjects []any
	for _, d := range refs {
		subjects = append(subjects, map[string]any{"name": d.String(), "digest": map[string]string{"sha256": digestHex(d)}})
	}
	st, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": predicateType, "predicate": predicate})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

const spdxType = "https://spdx.dev/Document"

// BenchmarkRelease attaches a Kubernetes-shaped release on the real
// registry process: per index of 5 platform images, one provenance (on
// the index and each platform image) and one SBOM per platform image.
// slsakit does it in one oci.AttachAll (provenance naming all 180 images,
// attached recursively); the cosign CLI as a shell loop would, one
// `cosign attest` per image and attestation (cosign attest has no
// --recursive). Metrics: wall ms per image (index or platform) and
// registry requests per image.
//
//	source .tools/env; SLSAKIT_RELEASE_INDEXES=4 go test ./internal/e2e -run '^$' -bench Release -benchtime 1x
func BenchmarkRelease(b *testing.B) {
	reg := regproc.Start(b)
	kp := newKeyPair(b)
	n := releaseIndexes(b)
	images := float64(n * (1 + len(releasePlatforms)))
	prov := map[string]any{
		"buildDefinition": map[string]any{"buildType": "https://example.com/t", "externalParameters": map[string]any{"version": "v1.31.0"}},
		"runDetails":      map[string]any{"builder": map[string]any{"id": "https://example.com/b"}},
	}
	sbomDoc := map[string]any{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "image", "dataLicense": "CC0-1.0",
		"documentNamespace": "https://example.com/spdx/image", "creationInfo": map[string]any{"created": "2026-01-01T00:00:00Z", "creators": []string{"Tool: bench"}}}

	conc := oci.DefaultConcurrency
	if s := os.Getenv("SLSAKIT_RELEASE_CONCURRENCY"); s != "" {
		if conc, _ = strconv.Atoi(s); conc <= 0 {
			b.Fatalf("SLSAKIT_RELEASE_CONCURRENCY=%q", s)
		}
	}
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		b.Run(fmt.Sprintf("slsakit/%s/concurrency-%d", layoutName(layout), conc), func(b *testing.B) {
			ctx := testCtx(b, 20*time.Minute)
			var dur time.Duration
			var reqs int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rel := pushRelease(b, reg, fmt.Sprintf("rel/slsakit-%s-%d", layoutName(layout), i), n)
				var all []name.Digest
				for _, refs := range rel {
					all = append(all, refs...)
				}
				ct := &countingTransport{base: http.DefaultTransport}
				b.StartTimer()
				t0 := time.Now()
				provEnv := kp.sign(b, multiStatement(b, slsaV1, prov, all...))
				var jobs []oci.Job
				for _, refs := range rel {
					jobs = append(jobs, oci.Job{Image: refs[0].String(), Attestations: []*sign.Attestation{{Envelope: provEnv}}, Options: []oci.Option{oci.WithRecursive()}})
					for _, d := range refs[1:] {
						jobs = append(jobs, oci.Job{Image: d.String(), Attestations: []*sign.Attestation{{Envelope: kp.sign(b, multiStatement(b, spdxType, sbomDoc, d))}}})
					}
				}
				if _, err := oci.AttachAll(ctx, jobs, ociOpts(layout, oci.WithTransport(ct), oci.WithConcurrency(conc))...); err != nil {
					b.Fatal(err)
				}
				dur += time.Since(t0)
				reqs += ct.n.Load()
			}
			b.ReportMetric(float64(dur.Milliseconds())/float64(b.N), "ms/release")
			b.ReportMetric(float64(dur.Milliseconds())/float64(b.N)/images, "ms/image")
			b.ReportMetric(float64(reqs)/float64(b.N)/images, "requests/image")
		})
	}

	for _, tc := range cosignCases {
		b.Run("cosign-"+tc.version+"/"+layoutName(tc.layout), func(b *testing.B) {
			c := newCosign(b, tc.env, tc.version)
			ctx := testCtx(b, 60*time.Minute)
			keys := c.generateKeyPair(b, ctx)
			key := filepath.Join(keys, "cosign.key")
			provPath, sbomPath := filepath.Join(b.TempDir(), "prov.json"), filepath.Join(b.TempDir(), "sbom.json")
			for path, v := range map[string]any{provPath: prov, sbomPath: sbomDoc} {
				raw, _ := json.Marshal(v)
				if err := os.WriteFile(path, raw, 0o600); err != nil {
					b.Fatal(err)
				}
			}
			px := newProxy(b, reg.Host(), 0, 0, 1)
			var dur time.Duration
			var reqs int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rel := pushRelease(b, reg, fmt.Sprintf("rel/cosign-%s-%d", tc.version, i), n)
				dir := b.TempDir()
				b.StartTimer()
				before := px.requests.Load()
				t0 := time.Now()
				for _, refs := range rel {
					for j, d := range refs {
						viaProxy, err := name.NewDigest(strings.Replace(d.String(), reg.Host(), px.Host(), 1), name.Insecure)
						if err != nil {
							b.Fatal(err)
						}
						c.mustRun(b, ctx, dir, c.attestArgs(key, provPath, viaProxy)...)
						if j > 0 {
							args := c.attestArgs(key, sbomPath, viaProxy)
							for k, a := range args {
								if a == "slsaprovenance1" {
									args[k] = "spdxjson"
								}
							}
							c.mustRun(b, ctx, dir, args...)
						}
					}
				}
				dur += time.Since(t0)
				reqs += px.requests.Load() - before
			}
			b.ReportMetric(float64(dur.Milliseconds())/float64(b.N), "ms/release")
			b.ReportMetric(float64(dur.Milliseconds())/float64(b.N)/images, "ms/image")
			b.ReportMetric(float64(reqs)/float64(b.N)/images, "requests/image")
		})
	}
}

// buildSlsakit builds the slsakit CLI into a temporary directory.
func buildSlsakit(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "slsakit")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/slsakit/slsakit/cmd/slsakit").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// envInt is a positive integer from env, or def.
func envInt(b *testing.B, env string, def int) int {
	b.Helper()
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q", env, s)
	}
	return n
}

// BenchmarkReleaseCLI is issue #13's release goal, process against
// process on the same registry process, with the same cosign-encrypted
// key on both sides: a multi-arch release gets a provenance on every index
// and platform image and an image signature on every one.
//
//   - slsakit: two processes for the whole release, `slsakit attest
//     --attach --recursive --image IDX...` (one provenance naming all
//     images) and `slsakit sign --recursive IDX...` (slsakit-cN); and the
//     same in one process, `slsakit attest --attach --recursive --sign`
//     (slsakit-one-cN).
//   - cosign (v2.6.5 legacy layout, v3.1.3 referrers): the shell loop, per
//     index `cosign attest` of the index and of each platform image
//     (cosign attest has no --recursive) and one `cosign sign --recursive`.
//
// slsakit runs at each concurrency of SLSAKIT_RELEASE_CONCURRENCY (a comma
// list, default 8 and 32: oci.DefaultConcurrency and the CLI's default). Sides are interleaved round by
// round (SLSAKIT_RELEASE_ROUNDS, default 3)
// so that the machine's load falls on both alike; slsakit releases
// SLSAKIT_RELEASE_INDEXES indexes (default 30), cosign
// SLSAKIT_RELEASE_COSIGN_INDEXES (default 2: it costs seconds per image).
// Reported per image (index or platform): wall ms and registry requests,
// each side's median over the rounds, and the median, min and max of the
// per-round ratio cosign/slsakit.
//
//	SLSAKIT_REGISTRY_BIN=… SLSAKIT_COSIGN_V2=… SLSAKIT_COSIGN_V3=… go test ./internal/e2e -run '^$' -bench ReleaseCLI -benchtime 1x
func BenchmarkReleaseCLI(b *testing.B) {
	reg := regproc.Start(b)
	n := releaseIndexes(b)
	nc := envInt(b, "SLSAKIT_RELEASE_COSIGN_INDEXES", 2)
	rounds := envInt(b, "SLSAKIT_RELEASE_ROUNDS", 3)
	concs := []int{oci.DefaultConcurrency, 32} // the library's default and the CLI's
	if v := os.Getenv("SLSAKIT_RELEASE_CONCURRENCY"); v != "" {
		concs = nil
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(f)
			if err != nil || c <= 0 {
				b.Fatalf("SLSAKIT_RELEASE_CONCURRENCY=%q", v)
			}
			concs = append(concs, c)
		}
	}
	bin := buildSlsakit(b)
	ctx := testCtx(b, 120*time.Minute)
	px := newProxy(b, reg.Host(), 0, 0, 1)
	perIndex := 1 + len(releasePlatforms)

	var cosigns []*cosign
	for _, tc := range cosignCases {
		cosigns = append(cosigns, newCosign(b, tc.env, tc.version))
	}
	// One cosign-encrypted key for every side: the scrypt cost per process
	// is the same on both.
	keys := cosigns[0].generateKeyPair(b, ctx)
	key := filepath.Join(keys, "cosign.key")
	prov := map[string]any{
		"buildDefinition": map[string]any{"buildType": "https://example.com/t", "externalParameters": map[string]any{"version": "v1.31.0"}},
		"runDetails":      map[string]any{"builder": map[string]any{"id": "https://example.com/b"}},
	}
	provPath := filepath.Join(b.TempDir(), "prov.json")
	raw, _ := json.Marshal(prov)
	if err := os.WriteFile(provPath, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	viaProxy := func(d name.Digest) name.Digest {
		v, err := name.NewDigest(strings.Replace(d.String(), reg.Host(), px.Host(), 1), name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	runSlsakit := func(dir string, args ...string) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "COSIGN_PASSWORD=" + cosignPassword, "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY="}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("slsakit %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	type sample struct{ msPerImage, reqPerImage float64 }
	samples := map[string][]sample{}
	var sides, ours []string
	for _, conc := range concs {
		ours = append(ours, fmt.Sprintf("slsakit-c%d", conc), fmt.Sprintf("slsakit-one-c%d", conc))
	}
	sides = append(sides, ours...)
	for _, c := range cosigns {
		sides = append(sides, "cosign-"+c.version)
	}
	b.ResetTimer()
	for round := range rounds {
		// slsakit: the whole release in two processes, at each concurrency.
		for _, conc := range concs {
			rel := pushRelease(b, reg, fmt.Sprintf("relcli/slsakit-c%d-%d-%d", conc, round, b.N), n)
			dir := b.TempDir()
			attest := []string{"attest", "--builder-id", "https://example.com/b", "--build-type", "https://example.com/t", "--param", "version=v1.31.0",
				"--key", key, "--insecure-registry", "--out", filepath.Join(dir, "prov.intoto.jsonl"), "--attach", "--recursive", "--concurrency", strconv.Itoa(conc)}
			signArgs := []string{"sign", "--key", key, "--insecure-registry", "--recursive", "--concurrency", strconv.Itoa(conc)}
			for _, refs := range rel {
				idx := viaProxy(refs[0]).String()
				attest = append(attest, "--image", idx)
				signArgs = append(signArgs, idx)
			}
			before := px.requests.Load()
			t0 := time.Now()
			runSlsakit(dir, attest...)
			runSlsakit(dir, signArgs...)
			images := float64(n * perIndex)
			side := fmt.Sprintf("slsakit-c%d", conc)
			samples[side] = append(samples[side], sample{float64(time.Since(t0).Milliseconds()) / images, float64(px.requests.Load()-before) / images})

			// The same in one process: attest --sign.
			rel = pushRelease(b, reg, fmt.Sprintf("relcli/slsakit-one-c%d-%d-%d", conc, round, b.N), n)
			one := slices.Clone(attest[:slices.Index(attest, "--concurrency")+2])
			one = append(one, "--sign")
			for _, refs := range rel {
				one = append(one, "--image", viaProxy(refs[0]).String())
			}
			before = px.requests.Load()
			t0 = time.Now()
			runSlsakit(dir, one...)
			side = fmt.Sprintf("slsakit-one-c%d", conc)
			samples[side] = append(samples[side], sample{float64(time.Since(t0).Milliseconds()) / images, float64(px.requests.Load()-before) / images})
		}

		// cosign: the shell loop, per index.
		for _, c := range cosigns {
			rel := pushRelease(b, reg, fmt.Sprintf("relcli/cosign-%s-%d-%d", c.version, round, b.N), nc)
			dir := b.TempDir()
			before := px.requests.Load()
			t0 := time.Now()
			for _, refs := range rel {
				for _, d := range refs {
					c.mustRun(b, ctx, dir, c.attestArgs(key, provPath, viaProxy(d))...)
				}
				sa := c.signArgs(key, viaProxy(refs[0]))
				c.mustRun(b, ctx, dir, append(sa[:len(sa)-1:len(sa)-1], "--recursive", sa[len(sa)-1])...)
			}
			images := float64(nc * perIndex)
			samples["cosign-"+c.version] = append(samples["cosign-"+c.version], sample{float64(time.Since(t0).Milliseconds()) / images, float64(px.requests.Load()-before) / images})
		}
	}
	b.StopTimer()
	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	for _, side := range sides {
		var ms, reqs []float64
		for _, s := range samples[side] {
			ms = append(ms, s.msPerImage)
			reqs = append(reqs, s.reqPerImage)
		}
		b.ReportMetric(median(ms), side+"-ms/image")
		b.ReportMetric(median(reqs), side+"-requests/image")
		b.Logf("%s: ms per image by round %.1f, requests per image %.1f", side, ms, reqs)
		if strings.HasPrefix(side, "slsakit") {
			continue
		}
		for _, o := range ours {
			var ratios []float64
			for i, s := range samples[side] {
				ratios = append(ratios, s.msPerImage/samples[o][i].msPerImage)
			}
			b.ReportMetric(median(ratios), side+"/"+o+"-x")
			b.Logf("%s / %s per image, by round: %.1f (median %.1f, min %.1f, max %.1f)", side, o, ratios, median(ratios), slices.Min(ratios), slices.Max(ratios))
		}
	}
}
