package keychain

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// maxConfigFile bounds a credentials file: a secret is at most 1 MiB.
const maxConfigFile = 1 << 20

// DockerConfigJSON answers from a kubernetes.io/dockerconfigjson secret
// mounted at path ({"auths": {"registry": {...}}}), or a legacy
// kubernetes.io/dockercfg one (the map without "auths"). An entry has
// "username" and "password", or "auth" (base64 of user:password), or
// "identitytoken" / "registrytoken". Keys match like the kubelet's: a host
// with optional port ("registry.example.com:5000"), optionally a scheme
// and a path prefix ("https://registry.example.com/team"), and "*" for one
// whole host label ("*.example.com"); the longest matching key wins.
// "docker.io", "index.docker.io", "registry-1.docker.io" and
// "https://index.docker.io/v1/" all mean Docker Hub.
//
// The file is read now, so that a broken mount fails at start-up, and again
// on every Resolve, so that a rotated secret is used without a restart. It
// never runs a credential helper: a credsStore or credHelpers in the file
// is an error.
func DockerConfigJSON(path string) (authn.Keychain, error) {
	k := fileKeychain{path: path}
	if _, err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

type fileKeychain struct{ path string }

type authEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

type fileEntry struct {
	key  string // as written, for error messages
	host string // lower case, Docker Hub aliases folded
	path string // "" or a path prefix without slashes around it
	cfg  authn.AuthConfig
}

func (k fileKeychain) load() ([]fileEntry, error) {
	f, err := os.Open(k.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if len(b) > maxConfigFile {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrInvalidConfig, k.path, maxConfigFile)
	}
	// Error messages name keys and fields, never values: the file is all
	// secrets.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrInvalidConfig, k.path)
	}
	for _, helper := range []string{"credsStore", "credHelpers"} {
		if _, ok := top[helper]; ok {
			return nil, fmt.Errorf("%w: %s: %q would run a program; a mounted secret must hold the credentials", ErrInvalidConfig, k.path, helper)
		}
	}
	var auths map[string]authEntry
	raw, ok := top["auths"]
	if ok {
		err = json.Unmarshal(raw, &auths)
	} else {
		err = json.Unmarshal(b, &auths)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: \"auths\" is not a map of registries to credentials", ErrInvalidConfig, k.path)
	}
	out := make([]fileEntry, 0, len(auths))
	for key, a := range auths {
		e, err := parseEntry(key, a)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, k.path, err)
		}
		out = append(out, e)
	}
	// Most specific first: longer host, then longer path, then the key.
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].host) != len(out[j].host) {
			return len(out[i].host) > len(out[j].host)
		}
		if len(out[i].path) != len(out[j].path) {
			return len(out[i].path) > len(out[j].path)
		}
		return out[i].key < out[j].key
	})
	return out, nil
}

func parseEntry(key string, a authEntry) (fileEntry, error) {
	e := fileEntry{key: key}
	s := key
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// Not quoted: a malformed key may hold user:password@.
		return e, errors.New("a registry key is not a host[:port][/path]")
	}
	e.host = strings.ToLower(u.Host)
	switch e.host {
	case "docker.io", "registry-1.docker.io":
		e.host = "index.docker.io"
	}
	p := strings.Trim(path.Clean("/"+u.Path), "/")
	if p == "v1" || p == "v2" { // docker's legacy "https://index.docker.io/v1/"
		p = ""
	}
	e.path = p
	cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if a.Auth != "" {
		dec, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return e, fmt.Errorf("registry %q: \"auth\" is not base64", key)
		}
		user, pass, ok := strings.Cut(string(dec), ":")
		if !ok || user == "" {
			return e, fmt.Errorf("registry %q: \"auth\" is not base64 of user:password", key)
		}
		if (cfg.Username != "" && cfg.Username != user) || (cfg.Password != "" && cfg.Password != pass) {
			return e, fmt.Errorf("registry %q: \"auth\" contradicts \"username\"/\"password\"", key)
		}
		cfg.Username, cfg.Password = user, pass
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return e, fmt.Errorf("registry %q: a username needs a password and a password a username", key)
	}
	if cfg.Username == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "" {
		return e, fmt.Errorf("registry %q has no credentials", key)
	}
	e.cfg = cfg
	return e, nil
}

func (k fileKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	entries, err := k.load()
	if err != nil {
		return nil, err
	}
	host := strings.ToLower(r.RegistryStr())
	repo := strings.TrimPrefix(r.String(), r.RegistryStr())
	repo = strings.Trim(repo, "/")
	for _, e := range entries {
		if hostMatch(e.host, host) && pathMatch(e.path, repo) {
			return authn.FromConfig(e.cfg), nil
		}
	}
	return authn.Anonymous, nil
}

// hostMatch matches host[:port] against a key whose labels may be "*"
// (one whole label); ports must be equal.
func hostMatch(pattern, host string) bool {
	ph, pp := splitPort(pattern)
	hh, hp := splitPort(host)
	if pp != hp {
		return false
	}
	pl, hl := strings.Split(ph, "."), strings.Split(hh, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if pl[i] != "*" && pl[i] != hl[i] {
			return false
		}
	}
	return true
}

func splitPort(h string) (host, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}

// pathMatch: prefix "team" matches "team" and "team/app", not "teamx".
func pathMatch(prefix, repo string) bool {
	return prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/")
}
