package keylesstest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
)

// LogV2 is a Rekor v2 (rekor-tiles) compatible transparency log: POST
// /api/v2/log/entries takes a hashedrekord v0.0.2 request, which is
// checked and canonicalized with rekor-tiles' own entry type (the
// signature must verify over the digest), appended to an in-memory RFC
// 6962 tree, and answered as rekor-tiles answers: a TransparencyLogEntry
// with the canonicalized body, an inclusion proof and a C2SP signed-note
// checkpoint whose origin is the log's host name — and no integrated time
// and no signed entry timestamp, which is what makes v2 bundles need a
// timestamp authority. sigstore-go's verifier checks it as it checks the
// real log.
type LogV2 struct {
	key    *ecdsa.PrivateKey
	logID  []byte
	origin string
	algs   *signature.AlgorithmRegistryConfig

	mu     sync.Mutex
	leaves [][]byte // canonical entry bodies
	hashes [][]byte // leaf hashes
	byHash map[string]int
}

func newLogV2(origin string) (*LogV2, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// The log ID rekor-tiles gives an ECDSA key: the SHA-256 of the key
	// (PKIX DER), the unabridged signed-note key hash.
	_, id, err := rekornote.KeyHash(origin, &k.PublicKey)
	if err != nil {
		return nil, err
	}
	// The algorithms rekor-tiles accepts by default.
	algs, err := signature.NewAlgorithmRegistryConfig([]protocommon.PublicKeyDetails{
		protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
		protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, protocommon.PublicKeyDetails_PKIX_ED25519_PH,
		protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256,
		protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256,
	})
	if err != nil {
		return nil, err
	}
	return &LogV2{key: k, logID: id, origin: origin, algs: algs, byHash: map[string]int{}}, nil
}

// Public is the log's checkpoint signing key.
func (l *LogV2) Public() crypto.PublicKey { return &l.key.PublicKey }

// LogID is the log's ID as rekor-tiles gives it for an ECDSA key: the
// SHA-256 of its public key (PKIX DER).
func (l *LogV2) LogID() []byte { return append([]byte(nil), l.logID...) }

// Origin is the checkpoint origin: the log's host name, which verifiers
// take from the log's URL in the trusted root.
func (l *LogV2) Origin() string { return l.origin }

// Size is the number of entries in the log.
func (l *LogV2) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.leaves)
}

func (l *LogV2) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/log/entries", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			httpError(w, http.StatusBadRequest, "reading body")
			return
		}
		var req rekortilespb.CreateEntryRequest
		if err := protojson.Unmarshal(body, &req); err != nil {
			httpError(w, http.StatusBadRequest, "bad request: "+err.Error())
			return
		}
		hr := req.GetHashedRekordRequestV002()
		if hr == nil {
			httpError(w, http.StatusBadRequest, "invalid type, must be hashedrekord")
			return
		}
		entry, err := hashedrekord.ToLogEntry(hr, l.algs)
		if err != nil {
			httpError(w, http.StatusBadRequest, "invalid hashedrekord request: "+err.Error())
			return
		}
		raw, err := protojson.Marshal(entry)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		leaf, err := jsoncanonicalizer.Transform(raw)
		if err != nil {
			httpError(w, http.StatusBadRequest, "invalid entry")
			return
		}
		idx, created := l.add(leaf)
		if !created {
			w.Header().Set("X-Rekor-Log-Index", strconv.Itoa(idx))
			httpError(w, http.StatusConflict, fmt.Sprintf("an equivalent entry already exists in the transparency log with index %d", idx))
			return
		}
		tle, err := l.entry(r.Context(), idx)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		tle.KindVersion = &protorekor.KindVersion{Kind: entry.Kind, Version: entry.ApiVersion}
		out, err := protojson.Marshal(tle)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(out)
	})
	return mux
}

func (l *LogV2) add(leaf []byte) (idx int, created bool) {
	h := leafHash(leaf)
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, ok := l.byHash[string(h)]; ok {
		return i, false
	}
	l.leaves = append(l.leaves, leaf)
	l.hashes = append(l.hashes, h)
	idx = len(l.leaves) - 1
	l.byHash[string(h)] = idx
	return idx, true
}

// entry builds entry idx's TransparencyLogEntry against the current tree.
func (l *LogV2) entry(ctx context.Context, idx int) (*protorekor.TransparencyLogEntry, error) {
	l.mu.Lock()
	leaf := l.leaves[idx]
	hashes := append([][]byte(nil), l.hashes...)
	l.mu.Unlock()

	root := mth(hashes)
	cp, err := l.checkpoint(ctx, uint64(len(hashes)), root)
	if err != nil {
		return nil, err
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          int64(idx),
		LogId:             &protocommon.LogId{KeyId: l.LogID()},
		CanonicalizedBody: leaf,
		InclusionProof: &protorekor.InclusionProof{
			LogIndex: int64(idx), RootHash: root, TreeSize: int64(len(hashes)),
			Hashes: inclusionPath(idx, hashes), Checkpoint: &protorekor.Checkpoint{Envelope: cp},
		},
	}, nil
}

// checkpoint is the C2SP checkpoint of a tree (origin, size, root hash),
// signed as a note by the log's key.
func (l *LogV2) checkpoint(ctx context.Context, size uint64, root []byte) (string, error) {
	sv, err := signature.LoadECDSASignerVerifier(l.key, crypto.SHA256)
	if err != nil {
		return "", err
	}
	ns, err := rekornote.NewNoteSigner(ctx, l.origin, sv)
	if err != nil {
		return "", err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, ns)
	return string(signed), err
}
