package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
)

func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b.json")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-demo", "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "verified: signed by demo@example.com") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte(sign.MediaTypeBundle)) {
		t.Errorf("bundle file: %v", err)
	}
}

// With a token that is not a JWT, the command fails before any network
// call, with the typed error.
func TestBadTokenFailsFast(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-token", "garbage", "-fulcio", "http://127.0.0.1:1"}, &stdout, &stderr)
	if !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("err = %v, want ErrTokenMalformed", err)
	}
}
