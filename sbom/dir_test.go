package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// listingDigest is the directory digest computed independently of
// FromDirectory: every regular file (symlinks excluded, as `find -type f`
// does), sorted by slash path, hashed as sha256sum lines.
func listingDigest(t *testing.T, dir string) string {
	var lines []string
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		must(t, err)
		lines = append(lines, sha256File(t, p)+"  "+filepath.ToSlash(rel)+"\n")
		return nil
	}))
	sort.Slice(lines, func(i, j int) bool {
		return strings.SplitN(lines[i], "  ", 2)[1] < strings.SplitN(lines[j], "  ", 2)[1]
	})
	s := sha256.Sum256([]byte(strings.Join(lines, "")))
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestFromDirectoryRootfs: a root file system on disk gives the same
// package model as an image: its dpkg packages (a deinstalled one absent),
// its Go binary read in place; symlinks out of the root (a database, a
// directory holding an apk database, a binary) and a FIFO are not read.
// The digest is the sorted listing and changes with any file.
func TestFromDirectoryRootfs(t *testing.T) {
	app := appBinary(t)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{
		"status":           dpkgStanza("evil-outside", "6.6.6", "amd64", ""),
		"apk/db/installed": "P:evil-apk\nV:1\nA:x86_64\n\n",
	})
	must(t, os.WriteFile(filepath.Join(outside, "gobin"), []byte(app), 0o755))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"etc/os-release": debianOSRelease,
		"var/lib/dpkg/status": dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("removed", "1.0", "amd64", "deinstall ok config-files"),
		"var/lib/dpkg/status.d/tzdata":         dpkgStanza("tzdata", "2024a-0+deb12u1", "all", ""),
		"var/lib/dpkg/status.d/tzdata.md5sums": "d41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n",
		"usr/bin/notgo":                        "\x7fELF" + strings.Repeat("\x00", 200),
		"a.txt":                                "sorts before a/",
		"a/b":                                  "after a.txt",
	})
	must(t, os.WriteFile(filepath.Join(dir, "usr/bin/app"), []byte(app), 0o755))
	must(t, os.Symlink(filepath.Join(outside, "status"), filepath.Join(dir, "var/lib/dpkg/status.d/evil")))
	must(t, os.Symlink(filepath.Join(outside, "apk"), filepath.Join(dir, "lib")))
	must(t, os.Symlink(filepath.Join(outside, "gobin"), filepath.Join(dir, "usr/bin/linked")))
	must(t, os.Symlink("../../../..", filepath.Join(dir, "usr/bin/up")))
	if err := mkfifo(filepath.Join(dir, "fifo")); err != nil {
		t.Logf("no FIFO: %v", err)
	}

	c, err := FromDirectory(context.Background(), dir, WithModuleCache(""))
	must(t, err)
	want := []string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12 ",
		"pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12 ",
	}
	if got := pkgSet(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("packages\n got %q\nwant %q", got, want)
	}
	if len(c.Binaries) != 1 || c.Binaries[0].Path != "/usr/bin/app" || c.Binaries[0].SBOM.Root.SHA256 != sha256Hex([]byte(app)) ||
		c.Binaries[0].SBOM.Main.Path != "example.com/app" {
		t.Fatalf("binaries %+v", c.Binaries)
	}
	if c.Kind != "directory" || c.OSID != "debian" || c.Digest != listingDigest(t, dir) {
		t.Fatalf("kind %q os %q digest %s, want listing %s", c.Kind, c.OSID, c.Digest, listingDigest(t, dir))
	}

	s, err := c.SBOM(filepath.Base(dir), WithCreated(fixedTime))
	must(t, err)
	doc, err := s.SPDX()
	must(t, err)
	must(t, ValidateSPDX(doc))
	if _, err := s.CycloneDX(); err != nil {
		t.Fatal(err)
	}

	// Any change to any file, reported or not, changes the subject.
	before := c.Digest
	must(t, os.WriteFile(filepath.Join(dir, "a/b"), []byte("after a.txt!"), 0o644))
	c, err = FromDirectory(context.Background(), dir, WithModuleCache(""))
	must(t, err)
	if c.Digest == before || c.Digest != listingDigest(t, dir) {
		t.Fatalf("digest after a change: %s (before %s)", c.Digest, before)
	}
}

// TestFromDirectoryBounds: too deep, a name the listing cannot carry, an
// oversized package database, a missing or non-directory path: typed
// errors, no panic, nothing read past the limit.
func TestFromDirectoryBounds(t *testing.T) {
	ctx := context.Background()
	deep := t.TempDir()
	p := deep
	for i := 0; i <= MaxDirDepth+1; i++ {
		p = filepath.Join(p, "d")
	}
	must(t, os.MkdirAll(p, 0o755))
	if _, err := FromDirectory(ctx, deep); !errors.Is(err, ErrTooLarge) {
		t.Errorf("deep tree: %v, want ErrTooLarge", err)
	}

	nl := t.TempDir()
	must(t, os.WriteFile(filepath.Join(nl, "a\nb"), []byte("x"), 0o644))
	if _, err := FromDirectory(ctx, nl); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("newline in a name: %v, want ErrInvalidImage", err)
	}

	big := t.TempDir()
	db := filepath.Join(big, "var/lib/dpkg/status")
	must(t, os.MkdirAll(filepath.Dir(db), 0o755))
	f, err := os.Create(db)
	must(t, err)
	must(t, f.Truncate(MaxPackageDBSize+1)) // sparse: the limit is checked before reading
	must(t, f.Close())
	if _, err := FromDirectory(ctx, big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized database: %v, want ErrTooLarge", err)
	}

	if _, err := FromDirectory(ctx, filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, 0o644))
	if _, err := FromDirectory(ctx, file); err == nil {
		t.Errorf("a file as directory: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := FromDirectory(cctx, deep); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
