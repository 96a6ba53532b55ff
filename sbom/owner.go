package sbom

import (
	"fmt"
	"hash/maphash"
	"path"
	"strings"
)

// MaxOwnedPaths is the largest number of paths the dpkg file lists of one
// image (or tarball, or directory) may name; over it is ErrTooLarge.
const MaxOwnedPaths = 4 << 20

// ownedFiles is one dpkg file list (<pkg>.list: absolute paths) or
// md5sums (<pkg>.md5sums: "<md5>  <relative path>"), keyed by a keyed
// hash of each path so memory is 8 bytes a path plus the MD5 when stated.
type ownedFiles struct {
	pkg, arch string
	md5       bool
	paths     map[uint64]string // path hash -> MD5 hex, "" from a .list
}

// isDpkgFileList: /var/lib/dpkg/info/<pkg>[:<arch>].list or .md5sums,
// and distroless' /var/lib/dpkg/status.d/<pkg>.md5sums.
func isDpkgFileList(p string) bool {
	dir, base := path.Split(p)
	switch dir {
	case "/var/lib/dpkg/info/":
		return strings.HasSuffix(base, ".list") || strings.HasSuffix(base, ".md5sums")
	case "/var/lib/dpkg/status.d/":
		return strings.HasSuffix(base, ".md5sums")
	}
	return false
}

func (w *fsWalker) fileList(idx int, digest, p string, b []byte, prev *fsEntry) error {
	base := path.Base(p)
	o := &ownedFiles{paths: map[uint64]string{}, md5: strings.HasSuffix(base, ".md5sums")}
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".list"), ".md5sums")
	o.pkg, o.arch, _ = strings.Cut(name, ":")
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		sum := ""
		if o.md5 {
			s, f, ok := strings.Cut(line, "  ")
			if !ok || len(s) != 32 {
				continue
			}
			sum, line = strings.ToLower(s), "/"+strings.TrimPrefix(f, "/")
		}
		if !strings.HasPrefix(line, "/") {
			continue
		}
		o.paths[maphash.String(w.seed, path.Clean(line))] = sum
	}
	if prev != nil && prev.owns != nil {
		w.owned -= len(prev.owns.paths)
	}
	if w.owned += len(o.paths); w.owned > MaxOwnedPaths {
		return fmt.Errorf("%w: dpkg file lists name more than %d paths", ErrTooLarge, MaxOwnedPaths)
	}
	if o.md5 {
		w.sawMD5 = true
	}
	w.put(p, &fsEntry{layer: idx, digest: digest, owns: o})
	return nil
}

// owners sets each binary's Owner (or ReplacedOwner) from the file lists
// the final file system holds. Only the files the SBOM reports (its Go
// binaries) are related to packages: listing every file a package owns
// would need each file's checksum, which an SPDX File element requires.
func (w *fsWalker) owners(out *ImageContents) {
	var lists []*fsEntry
	for _, e := range w.files {
		if e.owns != nil {
			lists = append(lists, e)
		}
	}
	if len(lists) == 0 {
		return
	}
	purls := map[string]string{} // name, name:arch -> purl
	for _, p := range out.Packages {
		if p.Type == "deb" {
			purls[p.Name] = p.PURL()
			purls[p.Name+":"+p.Arch] = p.PURL()
		}
	}
	for i := range out.Binaries {
		b := &out.Binaries[i]
		e := w.files[b.Path]
		h := maphash.String(w.seed, b.Path)
		owner, evidence, replaced := "", "", ""
		for _, l := range lists {
			sum, ok := l.owns.paths[h]
			if !ok {
				continue
			}
			key := l.owns.pkg
			if l.owns.arch != "" {
				key += ":" + l.owns.arch
			}
			u := purls[key]
			if u == "" {
				continue // a file list of a package the database does not list as installed
			}
			switch {
			case sum != "" && e.md5 != "" && sum == e.md5:
				owner, evidence = u, "md5"
			case sum != "" && e.md5 != "":
				replaced = u
			case !w.layered:
				// One layer (a tarball, a directory): nothing but a sum
				// tells the package's file from another written over it.
			case e.layer <= l.layer && owner == "":
				owner, evidence = u, "layer"
			case e.layer > l.layer:
				replaced = u
			}
		}
		if replaced != "" && evidence != "md5" {
			owner, evidence = "", ""
		}
		b.Owner, b.Evidence = owner, evidence
		if owner == "" {
			b.ReplacedOwner = replaced
		}
	}
}
