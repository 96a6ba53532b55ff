package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/internal/demo"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
)

// imagePlatforms are the platforms every Kubernetes release image ships
// for, behind one index per image.
var imagePlatforms = []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/arm"}

// imageNames are the release's 30 images (registry.k8s.io names);
// kubectl's linux/amd64 image holds the real Go program.
var imageNames = []string{
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubectl",
	"conformance", "pause", "etcd", "coredns", "metrics-server",
	"kube-state-metrics", "cluster-autoscaler", "node-problem-detector", "dns-node-cache", "cluster-proportional-autoscaler",
	"csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter", "csi-node-driver-registrar",
	"livenessprobe", "snapshot-controller", "ingress-nginx-controller", "kube-webhook-certgen", "external-dns",
	"descheduler", "kwok", "agnhost", "cloud-controller-manager", "kube-aggregator",
}

// releaseImage is one multi-platform image of the release in the registry.
type releaseImage struct {
	name      string
	repo      string            // registry/repository
	ref       string            // the index, repo@sha256:<hex>
	index     v1.ImageIndex     // for the SBOMs, scanned in-process
	platforms map[string]string // platform -> its image, repo@sha256:<hex>
}

// parallelism bounds the example's own concurrent work (pushes, SBOMs,
// signatures, policy checks).
const parallelism = 8

// forEach runs f(0..n-1), at most parallelism at once, and returns the
// first error.
func forEach(n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, parallelism)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// buildImages builds every image of the release for every platform, on
// base, and pushes each behind an index tagged with the version, to the
// target registry's repository <dir of the target repo>/<image name>.
func buildImages(ctx context.Context, tg demo.Target, base *pushed, kubectl string) ([]*releaseImage, error) {
	bin, err := os.ReadFile(kubectl)
	if err != nil {
		return nil, err
	}
	dir := path.Dir(tg.Repo)
	out := make([]*releaseImage, len(imageNames))
	err = forEach(len(imageNames), func(i int) error {
		name := imageNames[i]
		var adds []mutate.IndexAddendum
		for _, p := range imagePlatforms {
			content := filler(name+"/"+p, 2048)
			if name == "kubectl" && p == "linux/amd64" {
				content = bin
			}
			layer, err := layerOf(map[string][]byte{"usr/local/bin/" + name: content})
			if err != nil {
				return err
			}
			img, err := mutate.AppendLayers(base.img, layer)
			if err != nil {
				return err
			}
			pl, err := oci.ParsePlatform(p)
			if err != nil {
				return err
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return err
			}
			cf = cf.DeepCopy()
			cf.OS, cf.Architecture, cf.Variant = pl.OS, pl.Architecture, pl.Variant
			if img, err = mutate.ConfigFile(img, cf); err != nil {
				return err
			}
			adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		}
		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
		sub := tg
		sub.Repo = dir + "/" + name
		ref, err := sub.PushIndex(ctx, idx, version)
		if err != nil {
			return err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		ri := &releaseImage{name: name, repo: sub.Repo, ref: ref, index: idx, platforms: map[string]string{}}
		for j, m := range im.Manifests {
			ri.platforms[imagePlatforms[j]] = sub.Repo + "@" + m.Digest.String()
		}
		out[i] = ri
		return nil
	})
	return out, err
}

// imageSBOMs scans every platform image (in-process, each layer read
// once) and signs an SPDX SBOM statement about it, named as the
// provenance names platform images. It returns them per image, in
// imagePlatforms order.
func imageSBOMs(ctx context.Context, images []*releaseImage, signer sign.Signer) ([][]*sign.Envelope, error) {
	out := make([][]*sign.Envelope, len(images))
	err := forEach(len(images), func(i int) error {
		img := images[i]
		contents, err := sbom.ScanIndex(ctx, img.index)
		if err != nil {
			return fmt.Errorf("sbom of %s: %w", img.ref, err)
		}
		if len(contents) != len(imagePlatforms) {
			return fmt.Errorf("sbom of %s: %d platform images, want %d", img.ref, len(contents), len(imagePlatforms))
		}
		_, indexDigest, _ := strings.Cut(img.ref, "@")
		for j, c := range contents {
			p := imagePlatforms[j]
			if img.repo+"@"+c.Digest != img.platforms[p] {
				return fmt.Errorf("sbom of %s: scanned %s for %s", img.ref, c.Digest, p)
			}
			doc, err := c.SBOM(img.platforms[p], sbom.WithToolName("slsakit-release-example", "v1"))
			if err != nil {
				return err
			}
			stmt, err := doc.SPDXStatement(intoto.ResourceDescriptor{
				Name:   provenance.PlatformSubjectName(img.repo, indexDigest, p),
				Digest: intoto.DigestSet{"sha256": strings.TrimPrefix(c.Digest, "sha256:")},
			})
			if err != nil {
				return err
			}
			env, err := sign.SignStatement(ctx, stmt, signer)
			if err != nil {
				return err
			}
			out[i] = append(out[i], env)
		}
		return nil
	})
	return out, err
}

// attachRelease attaches everything in one oci.AttachAll: the provenance
// to every index and, recursively, to each of its platform images (the
// provenance names them all), and each platform image's SBOM to it.
func attachRelease(ctx context.Context, images []*releaseImage, prov *sign.Envelope, sboms [][]*sign.Envelope, regOpts []oci.Option) (requests int, err error) {
	var jobs []oci.Job
	for i, img := range images {
		jobs = append(jobs, oci.Job{Image: img.ref, Attestations: []*sign.Attestation{{Envelope: prov}}, Options: []oci.Option{oci.WithRecursive()}})
		for j, p := range imagePlatforms {
			jobs = append(jobs, oci.Job{Image: img.platforms[p], Attestations: []*sign.Attestation{{Envelope: sboms[i][j]}}})
		}
	}
	results, err := oci.AttachAll(ctx, jobs, regOpts...)
	for _, r := range results {
		requests += r.Requests
	}
	return requests, err
}
