package demo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/slsakit/slsakit/internal/demo"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
)

func TestTarget(t *testing.T) {
	ctx := context.Background()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Default: an in-process registry.
	tg, err := demo.NewTarget("", "team/app")
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ref, err := tg.Push(ctx, img, "v1")
	if err != nil || !strings.HasPrefix(ref, "127.0.0.1:") || !strings.Contains(ref, "/team/app@sha256:") {
		t.Fatalf("push: %q %v", ref, err)
	}
	if _, err := oci.Resolve(ctx, ref, oci.WithInsecure()); err != nil {
		t.Fatalf("pushed image not found: %v", err)
	}
	// A given loopback registry is reached over plain HTTP.
	reg := ocitest.NewRegistry(t)
	given, err := demo.NewTarget(reg.Host()+"/given", "unused")
	if err != nil || given.Repo != reg.Host()+"/given" || !given.Insecure {
		t.Fatalf("given: %+v %v", given, err)
	}
	if _, err := given.Push(ctx, img, "v1"); err != nil {
		t.Fatal(err)
	}
	// A remote registry gets no plain-HTTP option; a bad target is an error.
	remote, err := demo.NewTarget("registry.example.com/app", "unused")
	if err != nil || remote.Insecure {
		t.Fatalf("remote: %+v %v", remote, err)
	}
	if _, err := demo.NewTarget("not a repo", "x"); err == nil {
		t.Fatal("bad target accepted")
	}
	for host, want := range map[string]bool{"localhost:5000": true, "127.0.0.1": true, "[::1]:80": true, "10.0.0.1:5000": false, "example.com": false} {
		if got := demo.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}
