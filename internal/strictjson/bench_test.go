package strictjson

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sbomDoc returns an SPDX-shaped document of at least size bytes: the
// shape of the largest signed JSON slsakit reads (an SBOM predicate), with
// many small objects (packages, checksums, external references) of short
// string values, which is where a checker spends its time.
func sbomDoc(size int) []byte {
	var b strings.Builder
	b.Grow(size + 4096)
	b.WriteString(`{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT",` +
		`"name":"registry.example.com/app","documentNamespace":"https://example.com/spdx/app-1",` +
		`"creationInfo":{"created":"2026-01-02T03:04:05Z","creators":["Tool: slsakit"]},"packages":[`)
	var rels strings.Builder
	for i := 0; b.Len()+rels.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
			rels.WriteByte(',')
		}
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		name := fmt.Sprintf("golang.org/x/module%d", i)
		fmt.Fprintf(&b, `{"name":%q,"SPDXID":"SPDXRef-Package-%d","versionInfo":"v0.%d.%d",`+
			`"downloadLocation":"https://proxy.golang.org/%s/@v/v0.%d.%d.zip","filesAnalyzed":false,`+
			`"licenseConcluded":"BSD-3-Clause","licenseDeclared":"BSD-3-Clause","copyrightText":"NOASSERTION",`+
			`"supplier":"Organization: Example \u00e9 Corp","checksums":[{"algorithm":"SHA256","checksumValue":"%s"}],`+
			`"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl",`+
			`"referenceLocator":"pkg:golang/%s@v0.%d.%d"}],"primaryPackagePurpose":"LIBRARY","size":%d}`,
			name, i, i%97, i%13, name, i%97, i%13, hex.EncodeToString(sum[:]), name, i%97, i%13, 1000+i*7)
		fmt.Fprintf(&rels, `{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-Package-%d"}`, i)
	}
	b.WriteString(`],"relationships":[`)
	b.WriteString(rels.String())
	b.WriteString(`]}`)
	return []byte(b.String())
}

const benchSize = 16 << 20

// BenchmarkSBOM compares, on the same 16 MiB document and in the same run,
// a plain json.Unmarshal into any (the floor: what any caller pays to read
// the document at all), Check alone, and Check followed by that decode
// (what a strict caller pays). The goal is Check <= 0.5x Unmarshal, so
// check+unmarshal <= 1.5x unmarshal.
func BenchmarkSBOM(b *testing.B) {
	doc := sbomDoc(benchSize)
	if err := Check(doc); err != nil {
		b.Fatal(err)
	}
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	// ratio runs both, interleaved, in every iteration and reports
	// Check's time over Unmarshal's: on a loaded machine the sub-benchmarks
	// above see different loads, this one sees the same.
	b.Run("ratio", func(b *testing.B) {
		var tc, tu time.Duration
		for b.Loop() {
			t0 := time.Now()
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := Check(doc); err != nil {
				b.Fatal(err)
			}
			tc, tu = tc+time.Since(t1), tu+t1.Sub(t0)
		}
		b.ReportMetric(float64(tc)/float64(tu), "check/unmarshal")
		b.ReportMetric(float64(tc+tu)/float64(tu), "(check+unmarshal)/unmarshal")
	})
	b.Run("check+unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(doc); err != nil {
				b.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
