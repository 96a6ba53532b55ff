// Package tuftest builds TUF repositories for tests and serves them on
// loopback: one ed25519 key per top-level role, consistent snapshots, files
// laid out the way a TUF client fetches them. Tests change the exported
// metadata (versions, expiry, keys) and call Publish to play a mirror, an
// attacker or a key rotation.
package tuftest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TB is what tuftest needs of a test. *testing.T and *testing.B are TBs;
// Program is one for code that builds a repository outside a test.
type TB interface {
	Helper()
	Fatal(args ...any)
	TempDir() string
	Cleanup(func())
}

// Program is a TB for programs and Examples: Fatal panics with a
// *ProgramError (recover it, or let it end the program), TempDir makes
// directories and Cleanup registers functions that Close removes and runs.
// It is safe for use by one goroutine.
type Program struct {
	dirs     []string
	cleanups []func()
}

// ProgramError is what Program.Fatal panics with.
type ProgramError struct{ Msg string }

func (e *ProgramError) Error() string { return "tuftest: " + e.Msg }

// Helper does nothing: a program has no test log to point into.
func (p *Program) Helper() {}

// Fatal panics with a *ProgramError.
func (p *Program) Fatal(args ...any) { panic(&ProgramError{Msg: fmt.Sprint(args...)}) }

// TempDir makes a directory that Close removes.
func (p *Program) TempDir() string {
	d, err := os.MkdirTemp("", "tuftest-")
	if err != nil {
		p.Fatal(err)
	}
	p.dirs = append(p.dirs, d)
	return d
}

// Cleanup registers f for Close.
func (p *Program) Cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

// Close runs the cleanups, last registered first (servers stop), and
// removes the directories.
func (p *Program) Close() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	for _, d := range p.dirs {
		os.RemoveAll(d)
	}
	p.cleanups, p.dirs = nil, nil
}

// Repo is a TUF repository served on loopback (N.root.json,
// N.snapshot.json, N.targets.json, timestamp.json, targets/HASH.NAME).
type Repo struct {
	t   TB
	dir string
	// Server serves the repository; close it to play an offline client.
	Server *httptest.Server
	// Signers holds each top-level role's current signing key.
	Signers   map[string]signature.Signer
	Root      *metadata.Metadata[metadata.RootType]
	Targets   *metadata.Metadata[metadata.TargetsType]
	Snapshot  *metadata.Metadata[metadata.SnapshotType]
	Timestamp *metadata.Metadata[metadata.TimestampType]
	// Files are the targets, by name.
	Files map[string][]byte
	// Roles are the delegated targets roles, by name (Delegate).
	Roles map[string]*Role
}

// Role is a delegated targets role: its metadata, its signing key and the
// targets it lists.
type Role struct {
	Name    string
	Signer  signature.Signer
	Targets *metadata.Metadata[metadata.TargetsType]
	// Files are the role's targets, by name. Nothing stops a test from
	// listing names outside the role's delegated paths: that is the
	// attack clients must not fall for.
	Files map[string][]byte
}

// NewKey returns a fresh ed25519 signer and its TUF key.
func NewKey(t TB) (signature.Signer, *metadata.Key) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadED25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := metadata.KeyFromPublicKey(priv.Public().(crypto.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// New builds and serves a repository holding files as targets, all
// metadata at version 1 and expiring in a day.
func New(t TB, files map[string][]byte) *Repo {
	t.Helper()
	exp := time.Now().Add(24 * time.Hour)
	r := &Repo{t: t, dir: t.TempDir(), Signers: map[string]signature.Signer{}, Files: files, Roles: map[string]*Role{},
		Root: metadata.Root(exp), Targets: metadata.Targets(exp), Snapshot: metadata.Snapshot(exp), Timestamp: metadata.Timestamp(exp)}
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		s, k := NewKey(t)
		r.Signers[role] = s
		if err := r.Root.Signed.AddKey(k, role); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(r.dir, "targets"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.WriteRoot()
	r.Publish()
	r.Server = httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(r.Server.Close)
	return r
}

func (r *Repo) write(name string, b []byte) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func sign[T metadata.Roles](t TB, m *metadata.Metadata[T], signers ...signature.Signer) []byte {
	t.Helper()
	m.ClearSignatures()
	for _, s := range signers {
		if _, err := m.Sign(s); err != nil {
			t.Fatal(err)
		}
	}
	b, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteRoot signs and writes the current root version with the root
// role's current signer plus any extra (the previous root's keys).
func (r *Repo) WriteRoot(extra ...signature.Signer) {
	b := sign(r.t, r.Root, append([]signature.Signer{r.Signers[metadata.ROOT]}, extra...)...)
	r.write(fmt.Sprintf("%d.root.json", r.Root.Signed.Version), b)
}

// Publish writes targets (top-level and delegated), snapshot and
// timestamp for the current files and versions.
func (r *Repo) Publish() {
	t := r.t
	r.writeTargets(r.Targets, r.Files)
	tb := sign(t, r.Targets, r.Signers[metadata.TARGETS])
	r.write(fmt.Sprintf("%d.targets.json", r.Targets.Signed.Version), tb)
	r.Snapshot.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": metadata.MetaFile(r.Targets.Signed.Version)}
	for name, role := range r.Roles {
		r.writeTargets(role.Targets, role.Files)
		b := sign(t, role.Targets, role.Signer)
		r.write(fmt.Sprintf("%d.%s.json", role.Targets.Signed.Version, name), b)
		r.Snapshot.Signed.Meta[name+".json"] = metadata.MetaFile(role.Targets.Signed.Version)
	}
	sb := sign(t, r.Snapshot, r.Signers[metadata.SNAPSHOT])
	r.write(fmt.Sprintf("%d.snapshot.json", r.Snapshot.Signed.Version), sb)
	r.Timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.Snapshot.Signed.Version)
	r.write("timestamp.json", sign(t, r.Timestamp, r.Signers[metadata.TIMESTAMP]))
}

// writeTargets lists files in m and writes them where a client fetches
// them (targets/DIR/HASH.BASE for a name DIR/BASE).
func (r *Repo) writeTargets(m *metadata.Metadata[metadata.TargetsType], files map[string][]byte) {
	t := r.t
	m.Signed.Targets = map[string]*metadata.TargetFiles{}
	for name, b := range files {
		tf, err := metadata.TargetFile().FromBytes(name, b, "sha256")
		if err != nil {
			t.Fatal(err)
		}
		m.Signed.Targets[name] = tf
		dir, base := path.Split(name)
		if err := os.MkdirAll(filepath.Join(r.dir, "targets", filepath.FromSlash(dir)), 0o700); err != nil {
			t.Fatal(err)
		}
		r.write(filepath.Join("targets", filepath.FromSlash(dir), tf.Hashes["sha256"].String()+"."+base), b)
	}
}

// Delegate delegates paths to a new role with a fresh key (threshold 1)
// from parent ("targets" or a role Delegate made), after parent's
// existing delegations, and returns it. Publish or Bump to serve it.
func (r *Repo) Delegate(parent, name string, paths []string, terminating bool) *Role {
	t := r.t
	t.Helper()
	pm := r.Targets
	if parent != metadata.TARGETS {
		pm = r.Roles[parent].Targets
	}
	s, k := NewKey(t)
	if pm.Signed.Delegations == nil {
		pm.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{}}
	}
	pm.Signed.Delegations.Roles = append(pm.Signed.Delegations.Roles,
		metadata.DelegatedRole{Name: name, Threshold: 1, Terminating: terminating, Paths: paths})
	if err := pm.Signed.AddKey(k, name); err != nil {
		t.Fatal(err)
	}
	role := &Role{Name: name, Signer: s, Targets: metadata.Targets(r.Targets.Signed.Expires), Files: map[string][]byte{}}
	r.Roles[name] = role
	return role
}

// Undelegate removes the delegation of name from parent: the role's
// metadata stays on the server, as a mirror might keep it, but nothing
// delegates to it. Bump to publish.
func (r *Repo) Undelegate(parent, name string) {
	pm := r.Targets
	if parent != metadata.TARGETS {
		pm = r.Roles[parent].Targets
	}
	roles := pm.Signed.Delegations.Roles[:0]
	for _, d := range pm.Signed.Delegations.Roles {
		if d.Name != name {
			roles = append(roles, d)
		}
	}
	pm.Signed.Delegations.Roles = roles
}

// Bump publishes new targets (top-level and delegated), snapshot and
// timestamp versions.
func (r *Repo) Bump() {
	r.Targets.Signed.Version++
	for _, role := range r.Roles {
		role.Targets.Signed.Version++
	}
	r.Snapshot.Signed.Version++
	r.Timestamp.Signed.Version++
	r.Publish()
}

// InitialRoot is root version 1, what a client is configured with.
func (r *Repo) InitialRoot() []byte {
	b, err := os.ReadFile(filepath.Join(r.dir, "1.root.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// URL is the repository's base URL (the TUF mirror).
func (r *Repo) URL() string { return r.Server.URL }

// AgeCache makes the client cache at metadataDir (the directory holding
// its timestamp.json) look as it would once the clock has passed the
// timestamp's expiry: it publishes the next timestamp version, validly
// signed but expired an hour ago, and writes it there. go-tuf reads its
// clock directly, so a real expiry in the past is how a test gets
// there; everything else in the cache stays as the client verified it.
func (r *Repo) AgeCache(metadataDir string) {
	r.t.Helper()
	r.Timestamp.Signed.Expires = time.Now().Add(-time.Hour)
	r.Timestamp.Signed.Version++
	b := sign(r.t, r.Timestamp, r.Signers[metadata.TIMESTAMP])
	r.write("timestamp.json", b)
	if err := os.WriteFile(filepath.Join(metadataDir, metadata.TIMESTAMP+".json"), b, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// CacheDirs are the directories a client with cache directory cache keeps
// this repository's metadata in: sigstore-go's (trust.TrustedRoot) and
// trust.Delegations'.
func (r *Repo) CacheDirs(cache string) (sigstore, delegations string) {
	d := filepath.Join(cache, tuf.URLToPath(r.URL()))
	return d, filepath.Join(d, "metadata")
}
