package keylesstest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	// The entry types the log accepts, as sigstore-go writes them.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

// Log is a Rekor-compatible transparency log (v1 API: POST and GET
// /api/v1/log/entries, GET /api/v1/log and /api/v1/log/publicKey). Entries are validated and canonicalized with
// Rekor's own entry types (dsse and hashedrekord, whose signatures are
// checked as Rekor does), appended to an in-memory RFC 6962 Merkle tree,
// and returned with a signed entry timestamp and an inclusion proof with a
// signed checkpoint, which sigstore-go's verifier checks.
type Log struct {
	key    *ecdsa.PrivateKey
	logID  []byte
	origin string

	mu       sync.Mutex
	leaves   [][]byte // canonical entry bodies
	hashes   [][]byte // leaf hashes
	times    []int64
	byUUID   map[string]int
	clock    func() time.Time
	requests int
}

const treeID = 1

func newLog(origin string) (*Log, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	return &Log{key: k, logID: id[:], origin: origin, byUUID: map[string]int{}, clock: time.Now}, nil
}

// Public is the log's signing key.
func (l *Log) Public() crypto.PublicKey { return &l.key.PublicKey }

// LogID is the log's ID: the SHA-256 of its public key (PKIX DER).
func (l *Log) LogID() []byte { return append([]byte(nil), l.logID...) }

// SetClock sets the clock that integrated times come from.
func (l *Log) SetClock(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock = now
}

// Size is the number of entries in the log.
func (l *Log) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.leaves)
}

func (l *Log) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/log/entries", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			httpError(w, http.StatusBadRequest, "reading body")
			return
		}
		pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
		if err != nil {
			httpError(w, http.StatusBadRequest, "bad proposed entry: "+err.Error())
			return
		}
		ctx := r.Context()
		entry, err := types.CreateVersionedEntry(pe)
		if err != nil {
			httpError(w, http.StatusBadRequest, "invalid entry: "+err.Error())
			return
		}
		leaf, err := types.CanonicalizeEntry(ctx, entry)
		if err != nil {
			httpError(w, http.StatusBadRequest, "canonicalizing entry: "+err.Error())
			return
		}
		uuid, idx, created := l.add(leaf)
		w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
		if !created {
			httpError(w, http.StatusConflict, "an equivalent entry already exists in the transparency log")
			return
		}
		anon, err := l.entry(ctx, idx)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("ETag", uuid)
		writeJSON(w, http.StatusCreated, map[string]any{uuid: anon})
	})
	mux.HandleFunc("GET /api/v1/log/entries/{uuid}", func(w http.ResponseWriter, r *http.Request) {
		uuid := strings.ToLower(r.PathValue("uuid"))
		if len(uuid) > 64 { // a tree ID prefix, as Rekor's sharded UUIDs have
			uuid = uuid[len(uuid)-64:]
		}
		l.mu.Lock()
		idx, ok := l.byUUID[uuid]
		l.mu.Unlock()
		if !ok {
			httpError(w, http.StatusNotFound, "entry not found")
			return
		}
		anon, err := l.entry(r.Context(), idx)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{uuid: anon})
	})
	mux.HandleFunc("GET /api/v1/log/publicKey", func(w http.ResponseWriter, r *http.Request) {
		pemKey, err := cryptoutils.MarshalPublicKeyToPEM(&l.key.PublicKey)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pemKey)
	})
	mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		hashes := append([][]byte(nil), l.hashes...)
		l.mu.Unlock()
		signer, err := signature.LoadECDSASignerVerifier(l.key, crypto.SHA256)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		root := mth(hashes)
		cp, err := rekorutil.CreateAndSignCheckpoint(r.Context(), l.origin, treeID, uint64(len(hashes)), root, signer)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"rootHash": hex.EncodeToString(root), "treeSize": len(hashes),
			"signedTreeHead": string(cp), "treeID": fmt.Sprint(treeID)})
	})
	return mux
}

func (l *Log) add(leaf []byte) (uuid string, idx int, created bool) {
	h := leafHash(leaf)
	uuid = hex.EncodeToString(h)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	if i, ok := l.byUUID[uuid]; ok {
		return uuid, i, false
	}
	l.leaves = append(l.leaves, leaf)
	l.hashes = append(l.hashes, h)
	l.times = append(l.times, l.clock().Unix())
	idx = len(l.leaves) - 1
	l.byUUID[uuid] = idx
	return uuid, idx, true
}

// entry builds the LogEntryAnon of entry idx against the current tree.
func (l *Log) entry(ctx context.Context, idx int) (*models.LogEntryAnon, error) {
	l.mu.Lock()
	leaf, t := l.leaves[idx], l.times[idx]
	hashes := append([][]byte(nil), l.hashes...)
	l.mu.Unlock()

	body := base64.StdEncoding.EncodeToString(leaf)
	logID := hex.EncodeToString(l.logID)
	index := int64(idx)
	signer, err := signature.LoadECDSASignerVerifier(l.key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	// The signed entry timestamp: the log's signature over the canonical
	// JSON of body, integratedTime, logID and logIndex.
	payload, err := json.Marshal(map[string]any{"body": body, "integratedTime": t, "logID": logID, "logIndex": index})
	if err != nil {
		return nil, err
	}
	canon, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, err
	}
	set, err := signer.SignMessage(bytes.NewReader(canon))
	if err != nil {
		return nil, err
	}
	root := mth(hashes)
	proof := inclusionPath(idx, hashes)
	proofHex := make([]string, len(proof))
	for i, p := range proof {
		proofHex[i] = hex.EncodeToString(p)
	}
	cp, err := rekorutil.CreateAndSignCheckpoint(ctx, l.origin, treeID, uint64(len(hashes)), root, signer)
	if err != nil {
		return nil, err
	}
	rootHex, cps, size := hex.EncodeToString(root), string(cp), int64(len(hashes))
	return &models.LogEntryAnon{
		Body: body, IntegratedTime: &t, LogID: &logID, LogIndex: &index,
		Verification: &models.LogEntryAnonVerification{
			SignedEntryTimestamp: set,
			InclusionProof: &models.InclusionProof{
				Checkpoint: &cps, Hashes: proofHex, LogIndex: &index, RootHash: &rootHex, TreeSize: &size,
			},
		},
	}, nil
}

// RFC 6962 Merkle tree hashing.

func leafHash(b []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, b...))
	return h[:]
}

func nodeHash(l, r []byte) []byte {
	b := make([]byte, 0, 1+len(l)+len(r))
	b = append(append(append(b, 1), l...), r...)
	h := sha256.Sum256(b)
	return h[:]
}

func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func mth(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	default:
		k := split(n)
		return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
	}
}

func inclusionPath(m int, leaves [][]byte) [][]byte {
	n := len(leaves)
	if n <= 1 {
		return nil
	}
	k := split(n)
	if m < k {
		return append(inclusionPath(m, leaves[:k]), mth(leaves[k:]))
	}
	return append(inclusionPath(m-k, leaves[k:]), mth(leaves[:k]))
}
