package intoto

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// Errors of ParseImage.
var (
	// ErrNotImage: the URI does not name a container image; rules about
	// images do not apply to it.
	ErrNotImage = errors.New("intoto: not an image reference")
	// ErrInvalidImage: the URI looks like an image reference (an image
	// scheme or purl type, in any case) but cannot be read as one. A rule
	// that requires images to be pinned must refuse it, not skip it.
	ErrInvalidImage = errors.New("intoto: unreadable image reference")
	// ErrDigestMismatch: the digest written in the URI is not the one of
	// the descriptor's digest set. Errors wrapping it also wrap
	// ErrInvalidImage.
	ErrDigestMismatch = errors.New("intoto: image digest in the URI disagrees with the descriptor's")
)

// Registry host of Docker Hub, as go-containerregistry (and so slsakit's
// oci package and verify.EvaluateImage) names it.
const dockerHub = "index.docker.io"

// Image is a container image named by a resource descriptor.
type Image struct {
	// Registry is the registry host, with its port if one was written, in
	// lowercase (hosts are case-insensitive); Docker Hub is
	// "index.docker.io". Empty when the URI does not say where the image
	// lives (a pkg:oci purl without repository_url).
	Registry string
	// Repository is the repository path, e.g. "library/golang", exactly as
	// written: registries compare it case-sensitively, and the OCI
	// distribution spec allows only lowercase, so a repository with
	// uppercase letters is an error, not something to fold.
	Repository string
	// Tag is the tag written in the URI, if any. It pins nothing.
	Tag string
	// Digest holds the image's digests: the one written in the URI (a purl
	// version "sha256:<hex>", or "@sha256:<hex>" in a reference) and the
	// descriptor's strong sha256 and sha512 entries, which agree with it.
	Digest DigestSet
}

// Location returns "registry/repository", or "" when the image's registry
// is not known.
func (i Image) Location() string {
	if i.Registry == "" || i.Repository == "" {
		return ""
	}
	return i.Registry + "/" + i.Repository
}

// Pinned reports whether the image is identified by a strong sha256
// digest, the one registries are addressed by.
func (i Image) Pinned() bool { return Strong(AlgSHA256, i.Digest[AlgSHA256]) }

// imageKind is how a URI says it names an image.
type imageKind int

const (
	notImage  imageKind = iota
	reference           // oci://, docker://
	purl                // pkg:docker/, pkg:oci/
)

// classify decides from the scheme (and purl type) alone, leniently,
// whether uri means to name an image: leading blanks and control
// characters, any case, blanks around the scheme or type and a
// percent-encoded type are all looked through, so that no spelling of an
// image escapes the rules about images. Whether the URI is then readable
// is ParseImage's strict business.
func classify(uri string) (imageKind, string) {
	s := strings.TrimLeftFunc(uri, blank)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return notImage, ""
	}
	switch lowerASCII(strings.TrimFunc(scheme, blank)) {
	case "oci", "docker":
		return reference, ""
	case "pkg":
	default:
		return notImage, ""
	}
	rest = strings.TrimLeftFunc(rest, func(r rune) bool { return r == '/' || blank(r) })
	typ := rest
	if i := strings.IndexAny(rest, "/@?#"); i >= 0 {
		typ = rest[:i]
	}
	if dec, err := url.PathUnescape(typ); err == nil {
		typ = dec
	}
	switch t := lowerASCII(strings.TrimFunc(typ, blank)); t {
	case "docker", "oci":
		return purl, t
	}
	return notImage, ""
}

// blank is what a lenient reader may skip around a scheme: white space,
// control and format characters (a byte order mark, zero-width spaces).
func blank(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// ParseImage classifies the URI of a resource descriptor whose digest set
// is digest. It returns ErrNotImage when uri is not an image reference at
// all: its scheme is none of oci://, docker:// and its purl type none of
// pkg:docker/, pkg:oci/, compared without regard to case (and to blanks
// or percent-encoding where a lenient reader would look through them).
// Every other URI is an image, and is either read into an Image or
// refused with an error wrapping ErrInvalidImage.
//
// References (oci://, docker://) follow the Docker reference grammar: a
// first path component with a '.' or ':', or "localhost", is the registry
// (else Docker Hub, "docker.io" included, whose one-component repositories
// are under "library/"), then the repository, an optional ":tag" and an
// optional "@sha256:<hex>" (or sha512). Purls follow the purl
// specification: the scheme and type are case-insensitive, "pkg://" is
// "pkg:", components are percent-decoded, qualifier keys are
// case-insensitive and may not repeat. For pkg:docker the namespace and
// name form the repository (the namespace may start with a registry, else
// Docker Hub), or the repository_url qualifier gives the registry (and a
// path prefix); the version is a digest ("sha256:<hex>") or a tag. For
// pkg:oci there is no namespace, the name is case-insensitive and the last
// component of the repository, repository_url gives registry and
// repository, and the version, if any, must be a digest. A subpath, a
// digest of another algorithm or of the wrong form, and anything else the
// grammars do not allow, are errors.
//
// A digest in the URI must agree with the descriptor's entry for the same
// algorithm (ErrDigestMismatch); Image.Digest holds both.
func ParseImage(uri string, digest DigestSet) (Image, error) {
	kind, typ := classify(uri)
	var (
		img Image
		err error
	)
	switch kind {
	case notImage:
		return Image{}, ErrNotImage
	case reference:
		img, err = parseReferenceURI(uri)
	case purl:
		img, err = parsePurl(uri, typ)
	}
	if err != nil {
		return Image{}, fmt.Errorf("%w: %q: %v", ErrInvalidImage, uri, err)
	}
	for _, alg := range []string{AlgSHA256, AlgSHA512} {
		v, ok := digest[alg]
		if !ok {
			continue
		}
		if u, inURI := img.Digest[alg]; inURI && u != v {
			return Image{}, fmt.Errorf("%w: %w: %q has %s:%s, the descriptor %s:%s", ErrInvalidImage, ErrDigestMismatch, uri, alg, u, alg, v)
		}
		if Strong(alg, v) {
			if img.Digest == nil {
				img.Digest = DigestSet{}
			}
			img.Digest[alg] = v
		}
	}
	return img, nil
}

// parseReferenceURI reads "<oci|docker>://<reference>".
func parseReferenceURI(uri string) (Image, error) {
	scheme, ref, ok := strings.Cut(uri, "://")
	if !ok {
		return Image{}, errors.New("want <scheme>://<registry>/<repository>")
	}
	if s := lowerASCII(scheme); s != "oci" && s != "docker" {
		return Image{}, errors.New("malformed scheme")
	}
	return parseReference(ref)
}

// parseReference reads a Docker reference: [registry/]repository[:tag][@digest].
func parseReference(ref string) (Image, error) {
	var img Image
	name, dgst, hasDigest := strings.Cut(ref, "@")
	if hasDigest {
		alg, hex, err := parseOCIDigest(dgst)
		if err != nil {
			return Image{}, err
		}
		img.Digest = DigestSet{alg: hex}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		img.Tag = name[i+1:]
		name = name[:i]
		if !validTag(img.Tag) {
			return Image{}, fmt.Errorf("invalid tag %q", img.Tag)
		}
	}
	registry, repo := splitRegistry(name)
	var err error
	if img.Registry, img.Repository, err = location(registry, repo); err != nil {
		return Image{}, err
	}
	return img, nil
}

// splitRegistry splits name as Docker does: the first component is a
// registry when it has a '.' or a ':' or is localhost (in any case: it is
// a host name).
func splitRegistry(name string) (registry, repo string) {
	first, rest, ok := strings.Cut(name, "/")
	if ok && (strings.ContainsAny(first, ".:") || lowerASCII(first) == "localhost") {
		return first, rest
	}
	return "", name
}

// location validates and normalizes a registry (empty: Docker Hub) and a
// repository path.
func location(registry, repo string) (string, string, error) {
	registry = lowerASCII(registry)
	switch registry {
	case "", "docker.io":
		registry = dockerHub
	default:
		if !validHost(registry) {
			return "", "", fmt.Errorf("invalid registry %q", registry)
		}
	}
	if registry == dockerHub && repo != "" && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	if !validRepository(repo) {
		return "", "", fmt.Errorf("invalid repository %q (lowercase path components [a-z0-9] joined by '.', '_', '__' or dashes)", repo)
	}
	return registry, repo, nil
}

// parseOCIDigest reads "<alg>:<hex>" for the digest algorithms of the OCI
// image spec, which are also strong in the table.
func parseOCIDigest(s string) (alg, hex string, err error) {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || (alg != AlgSHA256 && alg != AlgSHA512) || !Strong(alg, hex) {
		return "", "", fmt.Errorf("invalid digest %q (want sha256:<64 lowercase hex> or sha512:<128>)", s)
	}
	return alg, hex, nil
}

// parsePurl reads a pkg:docker or pkg:oci purl, as the purl specification
// says to parse it: from the right, subpath, qualifiers, then from the
// left scheme and type, then version, name and namespace.
func parsePurl(uri, typ string) (Image, error) {
	rest, subpath, _ := cutLast(uri, "#")
	if strings.Trim(subpath, "/") != "" {
		return Image{}, errors.New("an image purl has no subpath")
	}
	rest, query, hasQuery := cutLast(rest, "?")
	quals := map[string]string{} // non-empty values only: an empty one is no qualifier
	seen := map[string]bool{}
	if hasQuery {
		for _, pair := range strings.Split(query, "&") {
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			if !ok || !validQualifierKey(k) {
				return Image{}, fmt.Errorf("invalid qualifier %q", pair)
			}
			// Keys are case-insensitive and unique: two spellings of one
			// key are two values that two readers could each pick from.
			k = lowerASCII(k)
			if seen[k] {
				return Image{}, fmt.Errorf("qualifier %q repeated", k)
			}
			seen[k] = true
			dv, err := url.PathUnescape(v)
			if err != nil {
				return Image{}, fmt.Errorf("qualifier %q: %v", k, err)
			}
			if dv != "" {
				quals[k] = dv
			}
		}
	}
	scheme, rest, _ := strings.Cut(rest, ":")
	if lowerASCII(scheme) != "pkg" {
		return Image{}, errors.New("malformed purl scheme")
	}
	rest = strings.Trim(rest, "/")
	t, rest, _ := strings.Cut(rest, "/")
	if lowerASCII(t) != typ {
		return Image{}, fmt.Errorf("purl type %q must be written plainly", t)
	}
	rest, version, hasVersion := cutLast(rest, "@")
	if hasVersion {
		var err error
		if version, err = url.PathUnescape(version); err != nil {
			return Image{}, fmt.Errorf("version: %v", err)
		}
	}
	namespace, name, _ := cutLast(rest, "/")
	if !strings.Contains(rest, "/") {
		namespace, name = "", rest
	}
	var segs []string
	for _, s := range strings.Split(namespace, "/") {
		if s == "" {
			continue
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return Image{}, fmt.Errorf("namespace: %v", err)
		}
		segs = append(segs, d)
	}
	name, err := url.PathUnescape(name)
	if err != nil || name == "" {
		return Image{}, fmt.Errorf("name %q", name)
	}
	if typ == "oci" {
		return purlOCI(segs, name, version, hasVersion, quals)
	}
	return purlDocker(segs, name, version, hasVersion, quals)
}

func purlDocker(namespace []string, name, version string, hasVersion bool, quals map[string]string) (Image, error) {
	var img Image
	if hasVersion {
		if strings.Contains(version, ":") {
			alg, hex, err := parseOCIDigest(version)
			if err != nil {
				return Image{}, err
			}
			img.Digest = DigestSet{alg: hex}
		} else if img.Tag = version; !validTag(version) {
			return Image{}, fmt.Errorf("invalid version %q (a tag or sha256:<hex>)", version)
		}
	}
	path := strings.Join(append(namespace, name), "/")
	registry, repo := splitRegistry(path)
	if ru, ok := quals["repository_url"]; ok {
		// The registry comes from repository_url, and the namespace is
		// then all repository. A namespace that starts with a host as
		// well names two registries: refused, not guessed.
		if registry != "" {
			return Image{}, fmt.Errorf("registry %q in the namespace and repository_url %q", registry, ru)
		}
		host, prefix, err := repositoryURL(ru)
		if err != nil {
			return Image{}, err
		}
		registry, repo = host, path
		if prefix != "" {
			repo = prefix + "/" + path
		}
	}
	var err error
	if img.Registry, img.Repository, err = location(registry, repo); err != nil {
		return Image{}, err
	}
	return img, nil
}

func purlOCI(namespace []string, name, version string, hasVersion bool, quals map[string]string) (Image, error) {
	var img Image
	if len(namespace) > 0 {
		return Image{}, errors.New("a pkg:oci purl has no namespace (the repository goes in repository_url)")
	}
	name = lowerASCII(name) // case-insensitive by the oci type's definition
	if hasVersion {
		alg, hex, err := parseOCIDigest(version)
		if err != nil {
			return Image{}, err
		}
		img.Digest = DigestSet{alg: hex}
	}
	if tag, ok := quals["tag"]; ok {
		if img.Tag = tag; !validTag(tag) {
			return Image{}, fmt.Errorf("invalid tag %q", tag)
		}
	}
	ru, ok := quals["repository_url"]
	if !ok {
		if !validRepository(name) {
			return Image{}, fmt.Errorf("invalid name %q", name)
		}
		return img, nil // registry-agnostic: no location
	}
	host, repo, err := repositoryURL(ru)
	if err != nil {
		return Image{}, err
	}
	if repo == "" {
		repo = name
	}
	if last := repo[strings.LastIndexByte(repo, '/')+1:]; last != name {
		return Image{}, fmt.Errorf("name %q is not the last component of repository_url %q", name, ru)
	}
	if img.Registry, img.Repository, err = location(host, repo); err != nil {
		return Image{}, err
	}
	return img, nil
}

// repositoryURL splits a repository_url qualifier, "[http[s]://]host[:port][/path]",
// into a host and a path. The host must look like one ('.', ':' or
// localhost), so that no reader takes it for a repository.
func repositoryURL(v string) (host, path string, err error) {
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		if s := lowerASCII(scheme); s != "https" && s != "http" {
			return "", "", fmt.Errorf("repository_url %q: scheme %q", v, scheme)
		}
		v = rest
	}
	host, path, _ = strings.Cut(strings.TrimSuffix(v, "/"), "/")
	if !strings.ContainsAny(host, ".:") && lowerASCII(host) != "localhost" {
		return "", "", fmt.Errorf("repository_url %q does not start with a registry host", v)
	}
	return host, path, nil
}

// cutLast is strings.Cut from the right.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// lowerASCII lowercases ASCII letters only: Unicode case mapping would
// turn e.g. the Kelvin sign into 'k' and make a host name out of
// something no resolver would treat as one.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// validRepository checks the OCI distribution spec's repository grammar:
// path components [a-z0-9]+ joined by '.', '_', "__" or runs of '-',
// separated by '/', at most 255 characters.
func validRepository(repo string) bool {
	if repo == "" || len(repo) > 255 {
		return false
	}
	for _, comp := range strings.Split(repo, "/") {
		if !validComponent(comp) {
			return false
		}
	}
	return true
}

func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isAlnumLower(c[i]) {
			i++
		}
		if i == start {
			return false // empty component, or a separator not between alphanumerics
		}
		if i == len(c) {
			return true
		}
		switch {
		case c[i] == '.':
			i++
		case c[i] == '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case c[i] == '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// validTag checks [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func validTag(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			i > 0 && (c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// validHost checks a lowercase host[:port]: DNS labels of [a-z0-9-] (not
// starting or ending with '-') joined by '.', or a bracketed IPv6 address,
// and an optional port of 1 to 5 digits.
func validHost(h string) bool {
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		host, port = h[1:end], h[end+1:]
		// An IPv6 address by its grammar, as net/url (and so
		// go-containerregistry, which fetches) reads it: the characters
		// alone let "[:]" or "[1:::2]" through, a registry no fetch can
		// reach. No zone ('%' is not among the characters), no IPv4.
		if strings.Trim(host, "0123456789abcdef:.") != "" {
			return false
		}
		if a, err := netip.ParseAddr(host); err != nil || a.Is4() {
			return false
		}
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
			if port == "" {
				return false
			}
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(h, ":")
		if hasPort && port == "" {
			return false
		}
		for _, label := range strings.Split(host, ".") {
			if label == "" || label[0] == '-' || label[len(label)-1] == '-' ||
				strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				return false
			}
		}
	}
	if len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return false
	}
	return true
}

func validQualifierKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
