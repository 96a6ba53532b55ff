package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// TestOffline runs the example as a user would, offline, and checks the
// envelope it prints.
func TestOffline(t *testing.T) {
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "verified: signature by gcpkms://projects/example/") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	env, err := sign.ParseEnvelope(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != sign.PayloadTypeInToto || len(env.Signatures) != 1 ||
		!strings.HasPrefix(env.Signatures[0].KeyID, "SHA256:") {
		t.Errorf("envelope: %s", stdout.String())
	}
}

func TestFlags(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"-insecure"},
		{"-endpoint", "127.0.0.1:1"},
		{"extra"},
		{"-key", "gcpkms://projects/p/keyRings/r"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
