package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Errors of the image walker. Match them with errors.Is.
var (
	// ErrInvalidImage is returned for an image whose layers cannot be read
	// or hold entries an SBOM cannot place honestly: a tar name with a
	// ".." segment (refused outright rather than resolved, since runtimes
	// disagree on where it lands), a malformed tar stream.
	ErrInvalidImage = errors.New("sbom: invalid image")
)

// Limits of the image walker. Every one is checked before the memory is
// spent; going over one yields ErrTooLarge (nothing is silently skipped).
const (
	// DefaultMaxBinarySize is the largest executable whose build
	// information is read: a Go binary in a layer is buffered in memory
	// (never written to disk) because debug/buildinfo needs random access.
	// One buffer is reused for every binary of the image.
	DefaultMaxBinarySize = 512 << 20
	// MaxPackageDBSize is the largest package database file read
	// (/var/lib/dpkg/status, one status.d entry, /lib/apk/db/installed,
	// os-release).
	MaxPackageDBSize = 64 << 20
	// MaxImageEntries is the largest number of tar entries walked over all
	// layers of one image.
	MaxImageEntries = 8 << 20
	// MaxPackages is the largest number of OS packages one image may list.
	MaxPackages = 1 << 20
)

// OSPackage is one package an OS package database in the image says is
// installed. Only what the database states is reported.
type OSPackage struct {
	// Type is the purl type: "deb" or "apk".
	Type string
	// Namespace is the purl namespace: the os-release ID ("debian",
	// "ubuntu", "alpine"), or Type's usual distribution ("debian",
	// "alpine") when the image has no os-release.
	Namespace string
	Name      string
	Version   string
	Arch      string
	// Distro is <os-release ID>-<VERSION_ID> ("debian-12", "alpine-3.20"),
	// or "" when the image has no os-release saying it.
	Distro string
	// Source is the source package (dpkg Source:, apk o:) when stated.
	Source string
	// License is the license as the database states it (apk L:), verbatim;
	// dpkg databases state none (/usr/share/doc/*/copyright is free text and
	// is not guessed from), so it is "" for deb packages.
	License string
	// Layer is the digest of the layer that introduced this package at
	// this version (the lowest layer whose database lists it so, with no
	// later layer dropping it in between).
	Layer string
	// DB is the path of the database file it was read from.
	DB string
}

// PURL returns pkg:<type>/<namespace>/<name>@<version>?arch=<arch>&distro=<distro>,
// qualifiers only when known, each component percent-encoded.
func (p OSPackage) PURL() string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(p.Type)
	b.WriteByte('/')
	pctEncode(&b, p.Namespace)
	b.WriteByte('/')
	pctEncode(&b, p.Name)
	if p.Version != "" {
		b.WriteByte('@')
		pctEncode(&b, p.Version)
	}
	sep := byte('?')
	for _, q := range [][2]string{{"arch", p.Arch}, {"distro", p.Distro}} {
		if q[1] == "" {
			continue
		}
		b.WriteByte(sep)
		b.WriteString(q[0])
		b.WriteByte('=')
		pctEncode(&b, q[1])
		sep = '&'
	}
	return b.String()
}

// ImageBinary is a Go executable found in the image.
type ImageBinary struct {
	// Path is the file's absolute path in the image's file system.
	Path string
	// Layer is the digest of the layer holding the file as the image
	// presents it (the topmost layer that wrote it).
	Layer string
	// SBOM is the binary's own SBOM (FromReaderAt), Root named Path.
	SBOM *SBOM
	// Owner is the purl of the OS package that installed this file, as
	// dpkg records it (/var/lib/dpkg/info/<pkg>.list or .md5sums,
	// distroless' status.d/<pkg>.md5sums) and only while the file is still
	// the one it installed: its MD5 equals the package's md5sums entry,
	// or, with no sum to compare, no layer above the package's file list
	// wrote it. "" otherwise.
	Owner string
	// Evidence says how Owner was checked: "md5" or "layer".
	Evidence string
	// ReplacedOwner is the purl of the package dpkg says installed this
	// path when the file is no longer the one it installed (its MD5
	// differs, or a later layer wrote it): the package does not contain it.
	ReplacedOwner string
}

// ImageContents is what one image (one platform) holds, as its layers
// say after whiteouts: the OS packages of its package databases and its Go
// binaries, sorted by path/name.
type ImageContents struct {
	// Kind is "image", "tarball" for FromTarball, "directory" for
	// FromDirectory, "index" for a multi-platform index (IndexContents).
	Kind string
	// Digest is the image's manifest digest, the index's digest, the
	// tarball file's SHA-256 ("sha256:..."), or the SHA-256 of a
	// directory's listing (FromDirectory).
	Digest string
	// Platform is os/arch[/variant] from the image config, "" if unstated.
	Platform string
	// Layers are the layer digests, bottom first.
	Layers []string
	// OS is the os-release ID and VERSION_ID ("debian", "12"), empty when
	// the image has no os-release.
	OSID, OSVersionID string
	Packages          []OSPackage
	Binaries          []ImageBinary

	// Path is, for an archive nested in a tarball or a directory, its
	// path there; "" otherwise.
	Path string
	// ImageID is, for an image read from a `docker save` tarball nested
	// in a tarball or a directory, its config digest (the ID `docker load`
	// prints); its Digest is then the SHA-256 of the nested file, since
	// such a tarball holds no manifest of its own.
	ImageID string
	// Tags are the RepoTags a `docker save` manifest gives the image.
	Tags []string
	// Nested are the archives (*.tar, *.tar.gz, *.tgz) found in a tarball
	// or a directory, in path order: image tarballs (Kind "image") with
	// their layers merged in order, others Kind "tarball"; or, for an
	// index, its platform images.
	Nested []*ImageContents
}

// WithMaxBinarySize sets the largest executable the image and tarball
// walkers buffer to read its build information (default
// DefaultMaxBinarySize). An executable over it yields ErrTooLarge.
func WithMaxBinarySize(n int64) Option { return func(c *config) { c.maxBinary = n } }

// ScanImage walks the layers of img bottom to top in one streaming pass
// (each layer decompressed once, never extracted to disk nor held in
// memory), applying whiteouts (.wh.<name> and opaque directories) as a
// container runtime would, and returns the OS packages and Go binaries the
// resulting file system holds. A Go binary's SBOM is built with opts
// (FromReaderAt); its bytes are buffered in memory, bounded by
// WithMaxBinarySize.
func ScanImage(ctx context.Context, img v1.Image, opts ...Option) (*ImageContents, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrInvalidImage)
	}
	c := newConfig(opts)
	out := &ImageContents{Kind: "image"}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("%w: digest: %v", ErrInvalidImage, err)
	}
	out.Digest = d.String()
	if cf, err := img.ConfigFile(); err == nil && cf != nil && cf.OS != "" {
		out.Platform = cf.OS + "/" + cf.Architecture
		if cf.Variant != "" {
			out.Platform += "/" + cf.Variant
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("%w: layers: %v", ErrInvalidImage, err)
	}
	w := newFSWalker(c, opts)
	w.layered = true
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ld, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("%w: layer %d digest: %v", ErrInvalidImage, i, err)
		}
		out.Layers = append(out.Layers, ld.String())
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("%w: layer %s: %v", ErrInvalidImage, ld, err)
		}
		err = w.layer(ctx, i, ld.String(), rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := w.result(out); err != nil {
		return nil, err
	}
	return out, nil
}

// fsEntry is what the walker keeps of one interesting file: the layer
// index and digest that wrote it, and its parsed content.
type fsEntry struct {
	layer  int
	digest string
	pkgs   []OSPackage // a package database
	bin    *SBOM       // a Go binary
	md5    string      // a Go binary's MD5, when a dpkg md5sums was seen before it
	osrel  map[string]string
	owns   *ownedFiles // a dpkg file list or md5sums
}

// fsWalker keeps, for the file system built so far, only the files an
// SBOM needs (keyed by clean absolute path), so memory is bounded by what
// is reported, not by the image.
type fsWalker struct {
	c       *config
	opts    []Option
	files   map[string]*fsEntry
	under   map[string]int // directory -> tracked files below it
	entries *int64         // shared with the walkers of nested archives
	npkgs   int
	buf     []byte

	// nest is set when archives (*.tar, *.tar.gz, *.tgz) are opened
	// (FromTarball, FromDirectory); nested holds what they held.
	nest   *nestState
	nested []*ImageContents
	// rec is set while a layer of a nested image is read: what the merge
	// in manifest order needs is recorded there.
	rec *layerRec

	owned   int          // paths named by the dpkg file lists tracked
	layered bool         // layers are known (an image): a later layer's write disowns a file
	sawMD5  bool         // a dpkg md5sums file was read: hash binaries after it
	seed    maphash.Seed // keys the owned paths
}

func newFSWalker(c *config, opts []Option) *fsWalker {
	return &fsWalker{c: c, opts: opts, files: map[string]*fsEntry{}, under: map[string]int{}, entries: new(int64), seed: maphash.MakeSeed()}
}

// streamErr wraps an error met while reading a stream: a limit hit
// (ErrTooLarge, from a budget reader under the tar reader) or a
// cancellation keeps its type; anything else is ErrInvalidImage.
func streamErr(what string, err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sbom: %s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrInvalidImage, what, err)
}

func (c *config) maxBinarySize() int64 {
	if c.maxBinary > 0 {
		return c.maxBinary
	}
	return DefaultMaxBinarySize
}

// cleanTarName returns the absolute clean path of a tar entry name, or an
// error for a name that climbs out of the root.
func cleanTarName(name string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: empty or NUL tar entry name", ErrInvalidImage)
	}
	n := strings.TrimPrefix(name, "./")
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%w: tar entry %q climbs out of the root", ErrInvalidImage, name)
		}
	}
	return path.Clean("/" + n), nil
}

// layer applies one layer's tar stream.
func (w *fsWalker) layer(ctx context.Context, idx int, digest string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return streamErr("layer "+digest, err)
		}
		*w.entries++
		if *w.entries > MaxImageEntries {
			return fmt.Errorf("%w: more than %d tar entries", ErrTooLarge, MaxImageEntries)
		}
		p, err := cleanTarName(h.Name)
		if err != nil {
			return err
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		if base == ".wh..wh..opq" {
			// Opaque directory: hides everything lower layers put under dir
			// (not what this layer adds, before or after the marker).
			w.remove(dir, idx, true)
			if err := w.rec.whiteout(dir, true); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			w.remove(target, idx, false)
			if err := w.rec.whiteout(target, false); err != nil {
				return err
			}
			continue
		}
		// Any entry replaces whatever was at p (a directory entry over a
		// file, a symlink over a binary, a new file over an old one).
		prev := w.files[p]
		if h.Typeflag != tar.TypeDir {
			w.drop(p)
			if err := w.rec.replaced(p); err != nil {
				return err
			}
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			// Symlinks and hard links are never followed: the file they
			// name is reported where it is stored.
			continue
		}
		if err := w.file(ctx, idx, digest, p, h.Size, tr, prev); err != nil {
			return err
		}
	}
}

// remove drops target and everything under it that layers below idx
// wrote; for an opaque directory, only what is under it. Only directories
// known to hold a tracked file are searched, so a layer of many whiteouts
// costs one map lookup each.
func (w *fsWalker) remove(target string, idx int, under bool) {
	if !under {
		if e := w.files[target]; e != nil && e.layer < idx {
			w.drop(target)
		}
	}
	if w.under[target] == 0 {
		return
	}
	prefix := target + "/"
	if target == "/" {
		prefix = "/"
	}
	for p, e := range w.files {
		if e.layer < idx && strings.HasPrefix(p, prefix) {
			w.drop(p)
		}
	}
}

// put tracks p, counting it under each of its ancestor directories.
func (w *fsWalker) put(p string, e *fsEntry) {
	if _, ok := w.files[p]; !ok {
		for d := path.Dir(p); ; d = path.Dir(d) {
			w.under[d]++
			if d == "/" {
				break
			}
		}
	}
	w.files[p] = e
}

// drop stops tracking p.
func (w *fsWalker) drop(p string) {
	if _, ok := w.files[p]; !ok {
		return
	}
	delete(w.files, p)
	for d := path.Dir(p); ; d = path.Dir(d) {
		if w.under[d]--; w.under[d] == 0 {
			delete(w.under, d)
		}
		if d == "/" {
			break
		}
	}
}

// special reads p if it is a file the SBOM is made of besides binaries (a
// package database, os-release) and reports whether it was one. The bytes
// read are returned so that a caller hashing every file can hash them.
func (w *fsWalker) special(idx int, digest, p string, size int64, r io.Reader, prev *fsEntry) (bool, []byte, error) {
	var parse func([]byte) []OSPackage
	switch {
	case isDpkgFileList(p):
		b, err := readBounded(r, size, MaxPackageDBSize, p)
		if err != nil {
			return true, nil, err
		}
		return true, b, w.fileList(idx, digest, p, b, prev)
	case p == "/var/lib/dpkg/status":
		parse = parseDpkg
	case path.Dir(p) == "/var/lib/dpkg/status.d":
		parse = parseDpkg
	case p == "/lib/apk/db/installed":
		parse = parseApk
	case p == "/etc/os-release" || p == "/usr/lib/os-release":
	default:
		return false, nil, nil
	}
	b, err := readBounded(r, size, MaxPackageDBSize, p)
	if err != nil {
		return true, nil, err
	}
	if parse == nil {
		w.put(p, &fsEntry{layer: idx, digest: digest, osrel: parseOSRelease(b)})
		return true, b, nil
	}
	return true, b, w.db(idx, digest, p, b, prev, parse)
}

// file inspects one regular file.
func (w *fsWalker) file(ctx context.Context, idx int, digest, p string, size int64, r io.Reader, prev *fsEntry) error {
	if ok, _, err := w.special(idx, digest, p, size, r, prev); ok {
		return err
	}
	if w.nest != nil && isArchiveName(p) {
		_, err := w.archive(ctx, p, size, r)
		return err
	}
	if size < 64 {
		return nil
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return streamErr(p, err)
	}
	if !isExecutableMagic(magic[:]) {
		return nil
	}
	if size > w.c.maxBinarySize() {
		return fmt.Errorf("%w: executable %s is %d bytes, over the %d-byte limit (WithMaxBinarySize)", ErrTooLarge, p, size, w.c.maxBinarySize())
	}
	if int64(cap(w.buf)) < size {
		w.buf = make([]byte, size)
	}
	buf := w.buf[:size]
	copy(buf, magic[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return streamErr(p, err)
	}
	s, err := FromReaderAt(bytes.NewReader(buf), size, p, w.opts...)
	if errors.Is(err, ErrNotGoBinary) {
		return nil // an executable, but not a Go one
	}
	if err != nil {
		return err
	}
	e := &fsEntry{layer: idx, digest: digest, bin: s}
	if w.sawMD5 {
		sum := md5.Sum(buf)
		e.md5 = hex.EncodeToString(sum[:])
	}
	w.put(p, e)
	return nil
}

// isExecutableMagic: ELF, PE (MZ), Mach-O (both endiannesses, 32/64-bit,
// fat), the formats debug/buildinfo reads.
func isExecutableMagic(m []byte) bool {
	switch {
	case bytes.Equal(m, []byte("\x7fELF")), bytes.HasPrefix(m, []byte("MZ")):
		return true
	}
	switch string(m) {
	case "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe", "\xca\xfe\xba\xbe":
		return true
	}
	// XCOFF (aix) and Plan 9 a.out are read by debug/buildinfo too, but no
	// container image ships them.
	return false
}

func readBounded(r io.Reader, size, limit int64, p string) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrTooLarge, p, size, limit)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, streamErr(p, err)
	}
	return b, nil
}

func (w *fsWalker) db(idx int, digest, p string, b []byte, prev *fsEntry, parse func([]byte) []OSPackage) error {
	pkgs := parse(b)
	if prev != nil {
		w.npkgs -= len(prev.pkgs)
	}
	w.npkgs += len(pkgs)
	if w.npkgs > MaxPackages {
		return fmt.Errorf("%w: more than %d OS packages", ErrTooLarge, MaxPackages)
	}
	for i := range pkgs {
		pkgs[i].DB = p
	}
	carryLayers(pkgs, prev, digest)
	w.put(p, &fsEntry{layer: idx, digest: digest, pkgs: pkgs})
	return nil
}

// carryLayers sets the layer of each package of a database written by
// layer digest over prev. A package manager rewrites its whole database in
// every layer that installs anything: a package the file it replaces
// already listed at the same version keeps the layer that introduced it.
func carryLayers(pkgs []OSPackage, prev *fsEntry, digest string) {
	before := map[string]string{}
	if prev != nil {
		for _, q := range prev.pkgs {
			before[q.key()] = q.Layer
		}
	}
	for i := range pkgs {
		if l, ok := before[pkgs[i].key()]; ok {
			pkgs[i].Layer = l
		} else {
			pkgs[i].Layer = digest
		}
	}
}

func (p OSPackage) key() string {
	return p.Type + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Arch
}

// result fills out from the final file system.
func (w *fsWalker) result(out *ImageContents) error {
	osrel := map[string]string{}
	if e := w.files["/usr/lib/os-release"]; e != nil {
		osrel = e.osrel
	}
	if e := w.files["/etc/os-release"]; e != nil {
		osrel = e.osrel // /etc/os-release takes precedence (os-release(5))
	}
	out.OSID, out.OSVersionID = osrel["ID"], osrel["VERSION_ID"]
	distro := ""
	if out.OSID != "" && out.OSVersionID != "" {
		distro = out.OSID + "-" + out.OSVersionID
	}
	paths := make([]string, 0, len(w.files))
	for p := range w.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := w.files[p]
		for _, pkg := range e.pkgs {
			pkg.Namespace = pkg.Type
			switch pkg.Type {
			case "deb":
				pkg.Namespace = "debian"
				if out.OSID == "ubuntu" || out.OSID == "debian" {
					pkg.Namespace = out.OSID
				}
			case "apk":
				pkg.Namespace = "alpine"
				if out.OSID != "" {
					pkg.Namespace = out.OSID
				}
			}
			pkg.Distro = distro
			out.Packages = append(out.Packages, pkg)
		}
		if e.bin != nil {
			out.Binaries = append(out.Binaries, ImageBinary{Path: p, Layer: e.digest, SBOM: e.bin})
		}
	}
	w.owners(out)
	out.Nested = w.nested
	sort.SliceStable(out.Nested, func(i, j int) bool { return out.Nested[i].Path < out.Nested[j].Path })
	sort.SliceStable(out.Packages, func(i, j int) bool {
		a, b := out.Packages[i], out.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Arch < b.Arch
	})
	return nil
}

// stanzas splits an RFC 822-style database (dpkg status, apk installed)
// into paragraphs of key -> value; continuation lines (starting with a
// space or tab) belong to the previous field and are not kept.
func stanzas(b []byte, sep byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string]string{}
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, string(sep))
		if !ok {
			continue
		}
		if _, dup := cur[k]; !dup {
			cur[k] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// parseDpkg reads dpkg status paragraphs, keeping packages whose Status is
// "install ok installed" (a distroless status.d entry may omit Status: it
// lists only installed packages).
func parseDpkg(b []byte) []OSPackage {
	var out []OSPackage
	for _, st := range stanzas(b, ':') {
		name, ver := st["Package"], st["Version"]
		if name == "" || ver == "" {
			continue
		}
		if s, ok := st["Status"]; ok && s != "install ok installed" {
			continue
		}
		src, _, _ := strings.Cut(st["Source"], " ") // "Source: glibc (2.36-9)"
		out = append(out, OSPackage{Type: "deb", Name: name, Version: ver, Arch: st["Architecture"], Source: src})
	}
	return out
}

// parseApk reads /lib/apk/db/installed (P: name, V: version, A: arch,
// L: license, o: origin).
func parseApk(b []byte) []OSPackage {
	var out []OSPackage
	for _, st := range stanzas(b, ':') {
		name, ver := st["P"], st["V"]
		if name == "" || ver == "" {
			continue
		}
		out = append(out, OSPackage{Type: "apk", Name: name, Version: ver, Arch: st["A"], License: st["L"], Source: st["o"]})
	}
	return out
}

// parseOSRelease reads KEY=value lines, unquoting single or double quotes.
func parseOSRelease(b []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}
