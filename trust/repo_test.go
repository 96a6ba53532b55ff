package trust

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// testRepo is a TUF repository the tests build and serve on loopback: one
// ed25519 key per top-level role, consistent snapshots, files written the
// way a TUF client fetches them (N.root.json, N.snapshot.json,
// HASH.name targets).
type testRepo struct {
	t       *testing.T
	dir     string
	srv     *httptest.Server
	signers map[string]signature.Signer
	root    *metadata.Metadata[metadata.RootType]
	targets *metadata.Metadata[metadata.TargetsType]
	snap    *metadata.Metadata[metadata.SnapshotType]
	ts      *metadata.Metadata[metadata.TimestampType]
	files   map[string][]byte
}

func newKey(t *testing.T) (signature.Signer, *metadata.Key) {
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

func newTestRepo(t *testing.T, files map[string][]byte) *testRepo {
	t.Helper()
	exp := time.Now().Add(24 * time.Hour)
	r := &testRepo{t: t, dir: t.TempDir(), signers: map[string]signature.Signer{}, files: files,
		root: metadata.Root(exp), targets: metadata.Targets(exp), snap: metadata.Snapshot(exp), ts: metadata.Timestamp(exp)}
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		s, k := newKey(t)
		r.signers[role] = s
		if err := r.root.Signed.AddKey(k, role); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(r.dir, "targets"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.writeRoot()
	r.publish()
	r.srv = httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *testRepo) write(name string, b []byte) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func sign[T metadata.Roles](t *testing.T, m *metadata.Metadata[T], signers ...signature.Signer) []byte {
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

// writeRoot signs and writes the current root version with the root
// role's current signer plus any extra (the previous root's keys).
func (r *testRepo) writeRoot(extra ...signature.Signer) {
	b := sign(r.t, r.root, append([]signature.Signer{r.signers[metadata.ROOT]}, extra...)...)
	r.write(fmt.Sprintf("%d.root.json", r.root.Signed.Version), b)
}

// publish writes targets, snapshot and timestamp for the current files
// and versions.
func (r *testRepo) publish() {
	t := r.t
	r.targets.Signed.Targets = map[string]*metadata.TargetFiles{}
	for name, b := range r.files {
		tf, err := metadata.TargetFile().FromBytes(name, b, "sha256")
		if err != nil {
			t.Fatal(err)
		}
		r.targets.Signed.Targets[name] = tf
		r.write("targets/"+tf.Hashes["sha256"].String()+"."+name, b)
	}
	tb := sign(t, r.targets, r.signers[metadata.TARGETS])
	r.write(fmt.Sprintf("%d.targets.json", r.targets.Signed.Version), tb)
	r.snap.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	sb := sign(t, r.snap, r.signers[metadata.SNAPSHOT])
	r.write(fmt.Sprintf("%d.snapshot.json", r.snap.Signed.Version), sb)
	r.ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snap.Signed.Version)
	r.write("timestamp.json", sign(t, r.ts, r.signers[metadata.TIMESTAMP]))
}

// bump publishes new targets, snapshot and timestamp versions.
func (r *testRepo) bump() {
	r.targets.Signed.Version++
	r.snap.Signed.Version++
	r.ts.Signed.Version++
	r.publish()
}

// initialRoot is root version 1, what a client is configured with.
func (r *testRepo) initialRoot() []byte {
	b, err := os.ReadFile(filepath.Join(r.dir, "1.root.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}
