package keylesstest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The log's tree hashing and inclusion proofs agree with an independent
// RFC 6962 implementation for every index of trees of size 1 to 33.
func TestInclusionProofsAgreeWithRFC6962(t *testing.T) {
	var hashes [][]byte
	for n := 1; n <= 33; n++ {
		leaf := []byte(fmt.Sprintf("entry %d", n))
		if !bytes.Equal(leafHash(leaf), rfc6962.DefaultHasher.HashLeaf(leaf)) {
			t.Fatal("leaf hash differs from RFC 6962")
		}
		hashes = append(hashes, leafHash(leaf))
		root := mth(hashes)
		for i := range hashes {
			p := inclusionPath(i, hashes)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(n), hashes[i], p, root); err != nil {
				t.Fatalf("size %d index %d: %v", n, i, err)
			}
			if n > 1 {
				bad := append([][]byte(nil), p...)
				bad[0] = leafHash([]byte("forged"))
				if proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(n), hashes[i], bad, root) == nil {
					t.Fatalf("size %d index %d: forged proof verifies", n, i)
				}
			}
		}
	}
}
