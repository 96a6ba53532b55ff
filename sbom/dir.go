package sbom

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// MaxDirDepth is the deepest directory nesting FromDirectory descends
// into; deeper is ErrTooLarge (a tree that deep is not a rootfs or a
// release, and recursion must stay bounded).
const MaxDirDepth = 256

// FromDirectory scans the directory dir (an unpacked release, or a root
// file system) with the model of an image of one layer: the Go binaries
// under it and, when it is a root file system, the OS packages its
// databases list (/var/lib/dpkg/status, status.d, /lib/apk/db/installed,
// relative to dir). Archives under it are opened as FromTarball opens
// them (Nested).
//
// Symbolic links are never followed, so nothing outside dir is read
// (files are opened through an os.Root, so not even a link swapped in
// during the walk escapes it); special files are skipped. Go binaries are
// read in place, without WithMaxBinarySize's buffer. The walk is bounded:
// MaxImageEntries entries, MaxDirDepth levels, MaxPackageDBSize per
// package database, each over ErrTooLarge.
//
// Digest is the SHA-256 of the directory listing: one line "<SHA-256 of
// the file>  <slash-separated path relative to dir>\n" per regular file,
// sorted by path bytewise (Go's dirhash summary, and what `find . -type f
// | sed 's|^\./||' | LC_ALL=C sort | xargs -d '\n' sha256sum` prints for
// names without backslashes), so the SBOM's subject changes whenever any
// file does. Every regular file is therefore read once; a file name with
// a newline makes that listing ambiguous and is ErrInvalidImage.
func FromDirectory(ctx context.Context, dir string, opts ...Option) (*ImageContents, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	defer root.Close()
	c := newConfig(opts)
	d := &dirWalker{ctx: ctx, root: root, w: newFSWalker(c, opts), listing: sha256.New(), fileHash: sha256.New()}
	d.w.nest = newNestState(c)
	if fi, err := root.Lstat("var/lib/dpkg"); err == nil && fi.IsDir() {
		d.rootfs, d.fileHash2 = true, md5.New()
	}
	if err := d.walk(".", 0); err != nil {
		return nil, err
	}
	out := &ImageContents{Kind: "directory", Digest: "sha256:" + hex.EncodeToString(d.listing.Sum(nil))}
	if err := d.w.result(out); err != nil {
		return nil, err
	}
	return out, nil
}

type dirWalker struct {
	ctx      context.Context
	root     *os.Root
	w        *fsWalker
	listing  hash.Hash // the listing whose SHA-256 is the directory's digest
	fileHash hash.Hash // reused for files that are not Go binaries
	// rootfs: dir holds /var/lib/dpkg, so binaries are hashed with MD5 too.
	rootfs    bool
	fileHash2 hash.Hash
	magic     [4]byte
}

// walk visits rel's entries in the order that makes the listing sorted
// by full path: siblings sorted by name, a directory's as name+"/" (its
// files all have that prefix), so "a.txt" comes before "a/b".
func (d *dirWalker) walk(rel string, depth int) error {
	if depth > MaxDirDepth {
		return fmt.Errorf("%w: directories nested deeper than %d at %s", ErrTooLarge, MaxDirDepth, rel)
	}
	f, err := d.root.Open(rel)
	if err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	type ent struct {
		key  string
		name string
		typ  fs.FileMode
	}
	var ents []ent
	for {
		// Read in chunks so that one huge directory hits the entry limit
		// before its whole listing is in memory.
		batch, err := f.ReadDir(1024)
		for _, e := range batch {
			*d.w.entries++
			if *d.w.entries > MaxImageEntries {
				f.Close()
				return fmt.Errorf("%w: more than %d directory entries", ErrTooLarge, MaxImageEntries)
			}
			k := e.Name()
			if e.IsDir() {
				k += "/"
			}
			ents = append(ents, ent{key: k, name: e.Name(), typ: e.Type()})
		}
		if err == io.EOF || (err == nil && len(batch) == 0) {
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("sbom: %w", err)
		}
	}
	f.Close()
	sort.Slice(ents, func(i, j int) bool { return ents[i].key < ents[j].key })
	for _, e := range ents {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		child := path.Join(rel, e.name)
		switch {
		case e.typ.IsDir():
			if err := d.walk(child, depth+1); err != nil {
				return err
			}
		case e.typ.IsRegular():
			if err := d.file(child); err != nil {
				return err
			}
		}
		// Symlinks, devices, sockets, FIFOs: never opened.
	}
	return nil
}

// file reads one regular file: a package database, a Go binary (read in
// place through the file's ReaderAt) or anything else (hashed only).
func (d *dirWalker) file(rel string) error {
	if strings.ContainsAny(rel, "\n") {
		return fmt.Errorf("%w: file name %q has a newline: the directory listing would be ambiguous", ErrInvalidImage, rel)
	}
	f, err := d.root.Open(rel)
	if err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil // replaced since it was listed; os.Root kept it inside dir
	}
	size := fi.Size()
	p := "/" + rel
	sum, err := d.inspect(f, p, size)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.listing, "%s  %s\n", sum, rel)
	return nil
}

// inspect returns the file's SHA-256, recording what the SBOM reports.
func (d *dirWalker) inspect(f *os.File, p string, size int64) (string, error) {
	ok, b, err := d.w.special(0, "", p, size, io.NewSectionReader(f, 0, size), nil)
	if err != nil {
		return "", err
	}
	if ok {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:]), nil
	}
	if isArchiveName(p) {
		sum, err := d.w.archive(d.ctx, p, size, io.NewSectionReader(f, 0, size))
		return strings.TrimPrefix(sum, "sha256:"), err
	}
	if size >= 64 {
		if _, err := f.ReadAt(d.magic[:], 0); err != nil {
			return "", fmt.Errorf("sbom: reading %s: %w", p, err)
		}
		if isExecutableMagic(d.magic[:]) {
			s, err := FromReaderAt(f, size, p, d.w.opts...)
			switch {
			case err == nil:
				e := &fsEntry{bin: s}
				if d.rootfs {
					// Its MD5, to check it against dpkg's md5sums, read later
					// in path order.
					d.fileHash2.Reset()
					if _, err := io.Copy(d.fileHash2, io.NewSectionReader(f, 0, size)); err != nil {
						return "", fmt.Errorf("sbom: reading %s: %w", p, err)
					}
					e.md5 = hex.EncodeToString(d.fileHash2.Sum(nil))
				}
				d.w.put(p, e)
				return s.Root.SHA256, nil
			case !errors.Is(err, ErrNotGoBinary):
				return "", err
			}
		}
	}
	d.fileHash.Reset()
	if _, err := io.Copy(d.fileHash, io.NewSectionReader(f, 0, size)); err != nil {
		return "", fmt.Errorf("sbom: reading %s: %w", p, err)
	}
	return hex.EncodeToString(d.fileHash.Sum(nil)), nil
}
