package sbom

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Limits of archives nested in a tarball or a directory. A nested
// image's layers cannot be merged until its manifest, which `docker save`
// writes last, says their order: until then each layer's packages,
// binaries, whiteouts and the (hashed) paths it writes are held, so these
// bound that memory, and the bytes budget bounds the work a small
// compressed file can ask for (a gzip bomb nested in a gzip).
const (
	// DefaultMaxNestedBytes is the default budget of bytes read,
	// decompressed, from all the archives nested in one tarball or
	// directory (WithMaxNestedBytes).
	DefaultMaxNestedBytes = 16 << 30
	// MaxNestedPaths is the largest number of paths the layers of nested
	// images may write, over all of them.
	MaxNestedPaths = 1 << 20
	// maxNestedJSON bounds one JSON file buffered from a nested archive
	// (a config, a manifest) and maxNestedJSONTotal all of them.
	maxNestedJSON      = 4 << 20
	maxNestedJSONTotal = 16 << 20
)

// WithMaxNestedBytes sets the budget of bytes read (decompressed) from
// archives nested in a tarball or directory (default
// DefaultMaxNestedBytes); going over it is ErrTooLarge.
func WithMaxNestedBytes(n int64) Option { return func(c *config) { c.maxNested = n } }

func (c *config) maxNestedBytes() int64 {
	if c.maxNested > 0 {
		return c.maxNested
	}
	return DefaultMaxNestedBytes
}

// nestState is shared by every walker under one FromTarball or
// FromDirectory call.
type nestState struct {
	budget int64 // bytes left to read from nested archives
	limit  int64
	seed   maphash.Seed // keyed, so paths cannot be crafted to collide
	paths  int
	pkgs   int
	json   int64
}

func newNestState(c *config) *nestState {
	return &nestState{budget: c.maxNestedBytes(), limit: c.maxNestedBytes(), seed: maphash.MakeSeed()}
}

// budgetReader reads until the shared budget is spent, then fails with
// ErrTooLarge without reading further.
type budgetReader struct {
	r  io.Reader
	st *nestState
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.st.budget <= 0 {
		return 0, fmt.Errorf("%w: more than %d bytes read from nested archives (WithMaxNestedBytes)", ErrTooLarge, b.st.limit)
	}
	if int64(len(p)) > b.st.budget {
		p = p[:b.st.budget]
	}
	n, err := b.r.Read(p)
	b.st.budget -= int64(n)
	return n, err
}

// isArchiveName: the archives a tarball or directory is searched for.
func isArchiveName(p string) bool {
	return strings.HasSuffix(p, ".tar") || strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz")
}

// layerRec is one layer of a nested image, read before its place in the
// image is known.
type layerRec struct {
	st        *nestState
	digest    string // SHA-256 of the blob as stored in the archive
	diffID    string // SHA-256 of the uncompressed tar stream
	files     map[string]*fsEntry
	whiteouts []whiteoutRec
	paths     map[uint64]struct{} // keyed hashes of every non-directory path written
}

type whiteoutRec struct {
	target string
	opaque bool
}

// whiteout records a whiteout (no-op outside a nested layer).
func (r *layerRec) whiteout(target string, opaque bool) error {
	if r == nil {
		return nil
	}
	if err := r.count(); err != nil {
		return err
	}
	r.whiteouts = append(r.whiteouts, whiteoutRec{target, opaque})
	return nil
}

// replaced records that the layer writes p (no-op outside a nested layer).
func (r *layerRec) replaced(p string) error {
	if r == nil {
		return nil
	}
	if err := r.count(); err != nil {
		return err
	}
	r.paths[maphash.String(r.st.seed, p)] = struct{}{}
	return nil
}

func (r *layerRec) count() error {
	r.st.paths++
	if r.st.paths > MaxNestedPaths {
		return fmt.Errorf("%w: nested image layers write more than %d paths", ErrTooLarge, MaxNestedPaths)
	}
	return nil
}

func (r *layerRec) writes(p string) bool {
	_, ok := r.paths[maphash.String(r.st.seed, p)]
	return ok
}

// child returns a walker for a nested stream, sharing the entry count
// and the binary buffer's growth through the caller.
func (w *fsWalker) child(rec *layerRec) *fsWalker {
	// A layer read out of order cannot know whether an md5sums lies below:
	// its binaries are always hashed. The seed is shared so that paths
	// hashed in a layer match in the merge.
	return &fsWalker{c: w.c, opts: w.opts, files: map[string]*fsEntry{}, under: map[string]int{}, entries: w.entries, buf: w.buf, rec: rec,
		seed: w.seed, sawMD5: rec != nil, layered: rec != nil}
}

// archive reads the archive at p (size bytes from r) in one pass and
// appends what it holds to w.nested: the images a `docker save` manifest
// in it describes, each layer merged in the manifest's order, or else the
// archive's own Go binaries and package databases. Archives inside it
// are not opened further (except an image's layers), so nesting is
// bounded by construction. It returns the SHA-256 of the bytes of p.
func (w *fsWalker) archive(ctx context.Context, p string, size int64, r io.Reader) (string, error) {
	st := w.nest
	h := sha256.New()
	raw := bufio.NewReader(io.TeeReader(io.LimitReader(r, size), h))
	var in io.Reader = raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return "", streamErr(p, err)
		}
		in = zr
	}
	in = &budgetReader{r: in, st: st}
	plain := w.child(nil)
	layers := map[string]*layerRec{}
	jsons := map[string][]byte{}
	var manifest []byte
	tr := tar.NewReader(in)
	eb := bufio.NewReaderSize(nil, 4096)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", streamErr(p, err)
		}
		*w.entries++
		if *w.entries > MaxImageEntries {
			return "", fmt.Errorf("%w: more than %d tar entries", ErrTooLarge, MaxImageEntries)
		}
		name, err := cleanTarName(hd.Name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if hd.Typeflag != tar.TypeReg && hd.Typeflag != tar.TypeRegA {
			continue
		}
		eb.Reset(tr)
		head, _ := eb.Peek(512)
		switch {
		case name == "/manifest.json" || (len(head) > 0 && head[0] == '{' && hd.Size <= maxNestedJSON):
			b, err := readBounded(eb, hd.Size, maxNestedJSON, p+"!"+name)
			if err != nil {
				return "", err
			}
			if st.json += int64(len(b)); st.json > maxNestedJSONTotal {
				return "", fmt.Errorf("%w: more than %d bytes of JSON in nested archives", ErrTooLarge, maxNestedJSONTotal)
			}
			if name == "/manifest.json" {
				manifest = b
			} else {
				jsons[name] = b
			}
		case isLayerHead(head, hd.Size):
			rec, err := w.readLayer(ctx, p+"!"+name, eb)
			if err != nil {
				return "", err
			}
			layers[name] = rec
		default:
			if err := plain.file(ctx, 0, "", name, hd.Size, eb, plain.files[name]); err != nil {
				return "", fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	// Hash what the tar reader left unread, so the digest is the file's.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return "", streamErr(p, err)
	}
	w.buf = plain.buf
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	imgs, err := w.images(p, manifest, jsons, layers)
	if err != nil {
		return "", err
	}
	if imgs == nil {
		// Not an image: its own files, as a tarball of one layer.
		out := &ImageContents{Kind: "tarball"}
		if err := plain.result(out); err != nil {
			return "", err
		}
		out.Nested = nil
		imgs = []*ImageContents{out}
	}
	for _, ic := range imgs {
		ic.Path, ic.Digest = p, digest
	}
	w.nested = append(w.nested, imgs...)
	return digest, nil
}

// isLayerHead: a gzip stream, a tar stream (ustar magic), or an empty tar
// (its end-of-archive block of zeros).
func isLayerHead(head []byte, size int64) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return true
	}
	if len(head) >= 262 && string(head[257:262]) == "ustar" {
		return true
	}
	return size >= 1024 && len(head) == 512 && bytes.Count(head, []byte{0}) == 512
}

// readLayer reads one layer of a nested image into a record.
func (w *fsWalker) readLayer(ctx context.Context, name string, r io.Reader) (*layerRec, error) {
	h, dh := sha256.New(), sha256.New()
	raw := bufio.NewReader(io.TeeReader(r, h))
	var in io.Reader = raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, streamErr(name, err)
		}
		in = zr
	}
	un := io.TeeReader(&budgetReader{r: in, st: w.nest}, dh)
	rec := &layerRec{st: w.nest, paths: map[uint64]struct{}{}}
	lw := w.child(rec)
	if err := lw.layer(ctx, 0, name, un); err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, un); err != nil {
		return nil, streamErr(name, err)
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return nil, streamErr(name, err)
	}
	w.buf = lw.buf
	if w.nest.pkgs += lw.npkgs; w.nest.pkgs > MaxPackages {
		return nil, fmt.Errorf("%w: more than %d OS packages in nested images", ErrTooLarge, MaxPackages)
	}
	rec.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	rec.diffID = "sha256:" + hex.EncodeToString(dh.Sum(nil))
	rec.files = lw.files
	return rec, nil
}

// dockerManifest is one entry of a `docker save` manifest.json (written
// by every docker version, and by go-containerregistry's tarball.Write).
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// images returns the images manifest describes, or nil when the archive
// is not an image tarball (no manifest.json, or not one naming a config).
// A manifest naming a config or layer the archive lacks, or layers that do
// not match the config's diff_ids, is ErrInvalidImage: the SBOM would
// otherwise describe an image that is not the one `docker load` loads.
func (w *fsWalker) images(p string, manifest []byte, jsons map[string][]byte, layers map[string]*layerRec) ([]*ImageContents, error) {
	var ms []dockerManifest
	if manifest == nil || json.Unmarshal(manifest, &ms) != nil || len(ms) == 0 {
		return nil, nil
	}
	for _, m := range ms {
		if m.Config == "" {
			return nil, nil
		}
	}
	var out []*ImageContents
	for _, m := range ms {
		cfgName, err := cleanTarName(m.Config)
		if err != nil {
			return nil, fmt.Errorf("%s: manifest: %w", p, err)
		}
		cfg, ok := jsons[cfgName]
		if !ok {
			return nil, fmt.Errorf("%w: %s: manifest names config %q, which it does not hold", ErrInvalidImage, p, m.Config)
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: config %s: %v", ErrInvalidImage, p, m.Config, err)
		}
		if len(cf.RootFS.DiffIDs) != len(m.Layers) {
			return nil, fmt.Errorf("%w: %s: %d layers, config lists %d", ErrInvalidImage, p, len(m.Layers), len(cf.RootFS.DiffIDs))
		}
		sum := sha256.Sum256(cfg)
		ic := &ImageContents{Kind: "image", ImageID: "sha256:" + hex.EncodeToString(sum[:]), Tags: m.RepoTags}
		if cf.OS != "" {
			ic.Platform = cf.OS + "/" + cf.Architecture
			if cf.Variant != "" {
				ic.Platform += "/" + cf.Variant
			}
		}
		acc := w.child(nil)
		acc.layered = true
		for i, ln := range m.Layers {
			name, err := cleanTarName(ln)
			if err != nil {
				return nil, fmt.Errorf("%s: manifest: %w", p, err)
			}
			rec := layers[name]
			if rec == nil {
				return nil, fmt.Errorf("%w: %s: manifest names layer %q, which it does not hold", ErrInvalidImage, p, ln)
			}
			if cf.RootFS.DiffIDs[i].String() != rec.diffID {
				return nil, fmt.Errorf("%w: %s: layer %q is %s, config says %s", ErrInvalidImage, p, ln, rec.diffID, cf.RootFS.DiffIDs[i])
			}
			ic.Layers = append(ic.Layers, rec.digest)
			acc.apply(i, rec)
		}
		if err := acc.result(ic); err != nil {
			return nil, err
		}
		ic.Nested = nil
		out = append(out, ic)
	}
	return out, nil
}

// apply merges layer i, read out of order, over the layers below it, as
// fsWalker.layer would have had it come in order: its whiteouts hide
// lower files, any path it writes replaces a lower file there, then its
// own files are tracked.
func (w *fsWalker) apply(i int, rec *layerRec) {
	for _, wo := range rec.whiteouts {
		w.remove(wo.target, i, wo.opaque)
	}
	var gone []string
	for p, e := range w.files {
		if e.layer < i && rec.writes(p) {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		if _, own := rec.files[p]; !own {
			w.drop(p)
		}
	}
	paths := make([]string, 0, len(rec.files))
	for p := range rec.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := *rec.files[p] // a copy: one layer may appear in several images
		e.layer, e.digest = i, rec.digest
		if e.pkgs != nil {
			e.pkgs = append([]OSPackage(nil), e.pkgs...)
			carryLayers(e.pkgs, w.files[p], rec.digest)
		}
		w.put(p, &e)
	}
}

// childKey distinguishes the elements of an archive nested in another,
// or of a platform image of an index, from the same package elsewhere
// (its layer, its image differ).
func (c *ImageContents) childKey() string {
	return c.Path + "@" + c.Digest + "#" + c.ImageID
}

// childName names a nested archive (its file name) or a platform image
// of an index (its platform, else its digest).
func (c *ImageContents) childName() string {
	switch {
	case c.Path != "":
		return path.Base(c.Path)
	case c.Platform != "":
		return c.Platform
	}
	return c.Digest
}
