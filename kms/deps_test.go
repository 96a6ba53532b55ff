package kms_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corePackages are what a user who signs and verifies attestations imports.
// They must not compile the Cloud KMS client nor sigstore-go's tree. Extend
// the list as packages are added to the core.
var corePackages = []string{"provenance", "sign", "verify", "oci"}

// heavyModules must stay out of the core's dependencies. The Sigstore
// bundle is modeled by hand in sign, so protobuf-specs stays out too.
var heavyModules = []string{
	"cloud.google.com/go/kms",
	"github.com/sigstore/sigstore-go",
	"github.com/sigstore/protobuf-specs",
}

// depsOf lists, from a scratch module that imports pkgs of this repository
// (through a replace directive), the modules and the packages compiled into
// it, leaving out the scratch module itself. It runs offline, from the
// module cache.
func depsOf(t *testing.T, pkgs ...string) (modules, packages []string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := fmt.Sprintf("module example.com/depscheck\n\ngo 1.25.8\n\nrequire github.com/slsakit/slsakit v0.0.0\n\nreplace github.com/slsakit/slsakit => %s\n", root)
	var main strings.Builder
	main.WriteString("package main\n\nimport (\n")
	for _, p := range pkgs {
		fmt.Fprintf(&main, "\t_ %q\n", "github.com/slsakit/slsakit/"+p)
	}
	main.WriteString(")\n\nfunc main() {}\n")
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(main.String())} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := func(format string) []string {
		cmd := exec.Command("go", "list", "-deps", "-f", format, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOSUMDB=off", "GOTOOLCHAIN=local")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", pkgs, err, stderr.String())
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if l != "" && l != "example.com/depscheck" && !slices.Contains(lines, l) {
				lines = append(lines, l)
			}
		}
		slices.Sort(lines)
		return lines
	}
	return list("{{with .Module}}{{.Path}}{{end}}"), list("{{.ImportPath}}")
}

func hasModule(modules []string, heavy string) bool {
	for _, m := range modules {
		if m == heavy || strings.HasPrefix(m, heavy+"/") {
			return true
		}
	}
	return false
}

// TestCoreDependencyWeight: importing the core packages does not compile
// the GCP KMS SDK or sigstore-go.
func TestCoreDependencyWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over a scratch module")
	}
	modules, packages := depsOf(t, corePackages...)
	for _, heavy := range heavyModules {
		if hasModule(modules, heavy) {
			t.Errorf("importing %v compiles %s", corePackages, heavy)
		}
	}
	t.Logf("core %v: %d modules (slsakit included), %d packages", corePackages, len(modules), len(packages))

	// For comparison: what this package costs on top.
	withKMS, kmsPackages := depsOf(t, append(slices.Clone(corePackages), "kms")...)
	if !hasModule(withKMS, "cloud.google.com/go/kms") {
		t.Errorf("the check is blind: importing kms does not show cloud.google.com/go/kms in %v", withKMS)
	}
	t.Logf("core + kms: %d modules, %d packages", len(withKMS), len(kmsPackages))
}

// TestBundleCodecDependencyWeight: sign, which reads and writes Sigstore
// bundles, and oci, which attaches them, compile no protobuf runtime at
// all: the codec is hand-written to protobuf's JSON mapping.
func TestBundleCodecDependencyWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over a scratch module")
	}
	modules, _ := depsOf(t, "sign", "oci")
	for _, heavy := range []string{"google.golang.org/protobuf", "github.com/sigstore/protobuf-specs", "github.com/sigstore/sigstore-go"} {
		if hasModule(modules, heavy) {
			t.Errorf("importing sign and oci compiles %s", heavy)
		}
	}
	if withKeyless, _ := depsOf(t, "sign/keyless"); !hasModule(withKeyless, "github.com/sigstore/protobuf-specs") {
		t.Errorf("the check is blind: sign/keyless does not show protobuf-specs in %v", withKeyless)
	}
}

// TestSigstoreAdapterDependencyWeight: the sigstore adapter (with its
// plugin client) and the Vault client pull in no cloud or Vault SDK.
func TestSigstoreAdapterDependencyWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over a scratch module")
	}
	modules, packages := depsOf(t, "kms/sigstorekms", "kms/hashivault")
	for _, heavy := range []string{"cloud.google.com/go", "github.com/aws/aws-sdk-go-v2", "github.com/Azure/azure-sdk-for-go", "github.com/hashicorp/vault", "github.com/sigstore/sigstore-go", "google.golang.org/grpc"} {
		if hasModule(modules, heavy) {
			t.Errorf("importing kms/sigstorekms or kms/hashivault compiles %s", heavy)
		}
	}
	t.Logf("kms/sigstorekms: %d modules, %d packages: %v", len(modules), len(packages), modules)
}
