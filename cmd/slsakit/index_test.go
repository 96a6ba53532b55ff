package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci/ocitest"
)

// TestCLIMultiArch: attest an index with --attach --recursive records
// and attaches to the index and every platform image; verify --platform
// checks the platform image a node pulls, and refuses what is not one.
func TestCLIMultiArch(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	x := reg.PushRandomIndex(t, "k8s/kube-proxy", "linux/amd64", "linux/arm64", "linux/s390x")
	tag := reg.Host() + "/k8s/kube-proxy:latest"
	env := filepath.Join(dir, "idx.intoto.jsonl")
	stmt := filepath.Join(dir, "idx.json")
	attest := []string{"attest", "--builder-id", builder, "--key", key, "--param", "a=b", "--image", tag, "--insecure-registry", "--out", env, "--statement-out", stmt}
	slsakit(t, append(attest, "--recursive")...).want(t, exitUsage) // --recursive without --attach
	r := slsakit(t, append(attest, "--attach", "--recursive")...).want(t, exitOK)
	for _, ref := range append([]string{x.Ref}, x.Platforms["linux/amd64"], x.Platforms["linux/arm64"], x.Platforms["linux/s390x"]) {
		if !strings.Contains(r.stderr, "attached to "+ref) {
			t.Errorf("not attached to %s:\n%s", ref, r.stderr)
		}
		slsakit(t, "verify", "--key", pub, "--image", ref, "--insecure-registry").want(t, exitOK)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/s390x"} {
		r := slsakit(t, "verify", "--key", pub, "--image", tag, "--platform", p, "--insecure-registry", "--json").want(t, exitOK)
		if !strings.Contains(r.stdout, x.Platforms[p]) {
			t.Errorf("verify --platform %s did not report %s:\n%s", p, x.Platforms[p], r.stdout)
		}
	}
	slsakit(t, "verify", "--key", pub, "--image", tag, "--platform", "linux/ppc64le", "--insecure-registry").want(t, exitError)
	slsakit(t, "verify", "--key", pub, "--image", tag, "--platform", "linux", "--insecure-registry").want(t, exitUsage)
	slsakit(t, "verify", "--key", pub, "--platform", "linux/amd64", "--envelope", env, pub).want(t, exitUsage)

	// attach --recursive: the same envelope onto a second index is refused
	// (it does not name its images), writing nothing.
	y := reg.PushRandomIndex(t, "k8s/other", "linux/amd64")
	slsakit(t, "attach", "--envelope", env, "--image", y.Ref, "--recursive", "--insecure-registry").want(t, exitError)
	slsakit(t, "verify", "--key", pub, "--image", y.Ref, "--platform", "linux/amd64", "--insecure-registry").want(t, exitRejected)
	// and onto its own index again writes nothing new and succeeds.
	slsakit(t, "attach", "--envelope", env, "--image", x.Ref, "--recursive", "--insecure-registry").want(t, exitOK)
}
