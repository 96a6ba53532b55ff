package provenance

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/slsakit/slsakit/intoto"
)

// Published test vectors (FIPS 180-2 "abc", empty input).
const (
	sha256abc   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	sha512abc   = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
	sha256empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// hashReaderN is HashReader with the byte count.
func hashReaderN(r io.Reader, opts ...HashOption) (intoto.DigestSet, int64, error) {
	return hashStream(context.Background(), r, newHashConfig(opts), make([]byte, hashBufferSize))
}

func TestHashReader(t *testing.T) {
	d, n, err := hashReaderN(strings.NewReader("abc"))
	must(t, err)
	if n != 3 || d[intoto.AlgSHA256] != sha256abc || len(d) != 1 {
		t.Fatalf("got %v %d", d, n)
	}
	d, n, err = hashReaderN(iotest.OneByteReader(strings.NewReader("abc")), WithSHA512())
	must(t, err)
	if n != 3 || d[intoto.AlgSHA256] != sha256abc || d[intoto.AlgSHA512] != sha512abc {
		t.Fatalf("got %v %d", d, n)
	}
	if _, err := HashReader(iotest.ErrReader(io.ErrUnexpectedEOF)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reader error: %v", err)
	}
	// Larger than the buffer, with a reader that returns data and EOF together.
	big := strings.Repeat("x", 3*hashBufferSize+7)
	d1, n1, err := hashReaderN(iotest.DataErrReader(strings.NewReader(big)))
	must(t, err)
	d2, err := HashReader(strings.NewReader(big))
	must(t, err)
	if n1 != int64(len(big)) || d1[intoto.AlgSHA256] != d2[intoto.AlgSHA256] {
		t.Fatal("DataErrReader changed the digest")
	}
	// The two-goroutine SHA-256+SHA-512 path against the standard library,
	// over chunks of every size a reader may return.
	want256, want512 := sha256.Sum256([]byte(big)), sha512.Sum512([]byte(big))
	for _, r := range []io.Reader{strings.NewReader(big), iotest.HalfReader(strings.NewReader(big)), iotest.DataErrReader(strings.NewReader(big))} {
		d, n, err := hashReaderN(r, WithSHA512())
		must(t, err)
		if n != int64(len(big)) || d[intoto.AlgSHA256] != hex.EncodeToString(want256[:]) || d[intoto.AlgSHA512] != hex.EncodeToString(want512[:]) {
			t.Fatalf("sha256+sha512 of %d bytes: %v", n, d)
		}
	}
	if _, err := HashReader(io.MultiReader(strings.NewReader(big), iotest.ErrReader(io.ErrClosedPipe)), WithSHA512()); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("reader error with sha512: %v", err)
	}
}

func TestHashFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	must(t, os.WriteFile(p, []byte("abc"), 0o644))
	d, n, err := hashFile(context.Background(), p, newHashConfig([]HashOption{WithSHA512()}))
	must(t, err)
	if n != 3 || d[intoto.AlgSHA256] != sha256abc || d[intoto.AlgSHA512] != sha512abc {
		t.Fatalf("got %v %d", d, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := HashFile(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := HashFile(ctx, p, WithSHA512()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled, sha512: %v", err)
	}
	if _, err := HashFile(context.Background(), p+"x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func makeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"a": "abc", "b/c.txt": "", "b/d/e": "hello\n", "z": "last"}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	return dir
}

func TestHashDir(t *testing.T) {
	ctx := context.Background()
	dir := makeTree(t)
	must(t, os.Symlink("b/d/e", filepath.Join(dir, "link-in")))
	must(t, os.Symlink("b", filepath.Join(dir, "dirlink"))) // directory links are not followed
	one, err := HashDir(ctx, dir, WithWorkers(1), WithSHA512())
	must(t, err)
	many, err := HashDir(ctx, dir, WithWorkers(8), WithSHA512())
	must(t, err)
	var names []string
	for i, rd := range one {
		names = append(names, rd.Name)
		want, err := HashFile(ctx, filepath.Join(dir, filepath.FromSlash(rd.Name)), WithSHA512())
		must(t, err)
		if rd.Digest.String() != want.String() || many[i].Digest.String() != want.String() || many[i].Name != rd.Name {
			t.Errorf("%s: %v / %v, want %v", rd.Name, rd.Digest, many[i].Digest, want)
		}
	}
	if got := strings.Join(names, ","); got != "a,b/c.txt,b/d/e,link-in,z" {
		t.Fatalf("names %s", got)
	}
	if one[0].Digest[intoto.AlgSHA256] != sha256abc {
		t.Errorf("a: %v", one[0].Digest)
	}

	// A symlink out of the tree is refused, absolute or relative.
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("secret"), 0o600))
	for _, target := range []string{outside, "../../../" + filepath.Base(filepath.Dir(outside)) + "/secret", "../../../../../../etc/passwd"} {
		d := makeTree(t)
		must(t, os.Symlink(target, filepath.Join(d, "b", "escape")))
		if _, err := HashDir(ctx, d); !errors.Is(err, ErrSymlinkEscape) {
			t.Errorf("link to %s: %v", target, err)
		}
		if _, err := DirMaterial(ctx, d); !errors.Is(err, ErrSymlinkEscape) {
			t.Errorf("DirMaterial, link to %s: %v", target, err)
		}
	}
	if _, err := HashDir(ctx, filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := HashDir(ctx2, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	empty, err := HashDir(ctx, t.TempDir())
	must(t, err)
	if len(empty) != 0 {
		t.Errorf("empty dir gave %v", empty)
	}
}

func TestDirMaterialMatchesGoDirhash(t *testing.T) {
	ctx := context.Background()
	dir := makeTree(t)
	rd, err := DirMaterial(ctx, dir)
	must(t, err)
	h1, err := dirhash.HashDir(dir, "", dirhash.Hash1)
	must(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h1, "h1:"))
	must(t, err)
	if rd.Digest[intoto.AlgDirHash] != hex.EncodeToString(raw) || len(rd.Digest) != 1 {
		t.Fatalf("dirHash %v, x/mod says %x", rd.Digest, raw)
	}
	if rd.Name != filepath.ToSlash(dir) {
		t.Errorf("name %q", rd.Name)
	}
	// Changing one byte changes the hash.
	must(t, os.WriteFile(filepath.Join(dir, "z"), []byte("lasT"), 0o644))
	rd2, err := DirMaterial(ctx, dir)
	must(t, err)
	if rd2.Digest[intoto.AlgDirHash] == rd.Digest[intoto.AlgDirHash] {
		t.Fatal("dirHash did not change")
	}
	// Renaming a file changes the hash too.
	must(t, os.Rename(filepath.Join(dir, "z"), filepath.Join(dir, "y")))
	rd3, err := DirMaterial(ctx, dir)
	must(t, err)
	if rd3.Digest[intoto.AlgDirHash] == rd2.Digest[intoto.AlgDirHash] {
		t.Fatal("dirHash ignores names")
	}
}
