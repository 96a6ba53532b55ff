package sbom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// benchImage generates, in memory, a ~200 MB (uncompressed) image of four
// gzip layers: 1 MiB files, half random bytes, half repetitive text; a
// dpkg database of 150 packages; three Go binaries.
func benchImage(b testing.TB) v1.Image {
	w := newWorld(b, b.TempDir())
	bin, err := os.ReadFile(w.build(b, "bench-app", nil, "-trimpath"))
	must(b, err)
	rng := rand.New(rand.NewSource(1))
	var status strings.Builder
	for i := 0; i < 150; i++ {
		status.WriteString(dpkgStanza(fmt.Sprintf("pkg%03d", i), "1.0-1", "amd64", "install ok installed"))
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 1<<20/44+1)[:1<<20]
	img := empty.Image
	for l := 0; l < 4; l++ {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		add := func(name string, body []byte) {
			must(b, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}))
			_, err := tw.Write(body)
			must(b, err)
		}
		if l == 0 {
			add("etc/os-release", []byte(debianOSRelease))
			add("var/lib/dpkg/status", []byte(status.String()))
		}
		if l == 3 {
			for i := 0; i < 3; i++ {
				add(fmt.Sprintf("usr/bin/app%d", i), bin)
			}
		}
		for i := 0; i < 48; i++ {
			body := text
			if i%2 == 0 {
				body = make([]byte, 1<<20)
				rng.Read(body)
			}
			add(fmt.Sprintf("data/l%d/f%03d", l, i), body)
		}
		must(b, tw.Close())
		must(b, zw.Close())
		data := gz.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		must(b, err)
		img, err = mutate.AppendLayers(img, layer)
		must(b, err)
	}
	return img
}

// peakHeap samples the live heap while f runs and returns the peak above
// the heap in use before it.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak {
				peak = m.HeapInuse - base
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// BenchmarkImageSBOM compares, side by side in one process, the image
// SBOM (ScanImage + both encoders) with the floor: decompressing every
// layer and reading every entry of its tar stream once.
func BenchmarkImageSBOM(b *testing.B) {
	img := benchImage(b)
	var size int64
	layers, _ := img.Layers()
	for _, l := range layers {
		n, _ := l.Size()
		size += n
	}
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var peak uint64
		for i := 0; i < b.N; i++ {
			peak = max(peak, peakHeap(func() {
				for _, l := range layers {
					rc, err := l.Uncompressed()
					must(b, err)
					tr := tar.NewReader(rc)
					for {
						if _, err := tr.Next(); err != nil {
							break
						}
						io.Copy(io.Discard, tr)
					}
					rc.Close()
				}
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	})
	b.Run("sbom", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var peak uint64
		for i := 0; i < b.N; i++ {
			peak = max(peak, peakHeap(func() {
				c, err := ScanImage(ctx, img, WithModuleCache(""))
				must(b, err)
				if len(c.Packages) != 150 || len(c.Binaries) != 3 {
					b.Fatalf("%d packages, %d binaries", len(c.Packages), len(c.Binaries))
				}
				s, err := c.SBOM("bench")
				must(b, err)
				_, err = s.SPDX()
				must(b, err)
				_, err = s.CycloneDX()
				must(b, err)
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	})
}

// TestWriteBenchImage writes BenchmarkImageSBOM's image as a `docker save`
// tarball to $SLSAKIT_BENCH_IMAGE, for process-against-process runs
// (`slsakit sbom --image docker-archive:PATH` and `syft scan
// docker-archive:PATH`); skipped otherwise.
func TestWriteBenchImage(t *testing.T) {
	out := os.Getenv("SLSAKIT_BENCH_IMAGE")
	if out == "" {
		t.Skip("SLSAKIT_BENCH_IMAGE not set")
	}
	ref, err := name.ParseReference("example.com/bench:1")
	must(t, err)
	must(t, tarball.WriteToFile(out, ref, benchImage(t)))
}
