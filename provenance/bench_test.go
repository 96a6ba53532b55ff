//go:build unix

package provenance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Benchmarks for subject hashing. Sizes are small by default so that
// `go test -bench .` stays quick; SLSAKIT_BIG_BENCH=1 selects the sizes of
// the published figures: a 1 GiB file, and 1,000 files of 1 MiB.
//
//	SLSAKIT_BIG_BENCH=1 go test -run '^$' -bench 'SubjectHash' -benchtime 5x ./provenance

func bigBench() bool { return os.Getenv("SLSAKIT_BIG_BENCH") == "1" }

// writeRandomFile writes size bytes of pseudo-random (incompressible, not
// sparse) data.
func writeRandomFile(b *testing.B, path string, size int64, seed uint64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		_, _ = rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// sha256sumFile runs coreutils sha256sum on path and returns the CPU time
// (user + system) it used.
func sha256sumFile(b *testing.B, path string) time.Duration {
	cmd := exec.Command("sha256sum", path)
	out, err := cmd.Output()
	if err != nil || len(out) < 64 {
		b.Fatalf("sha256sum: %v", err)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// selfCPU returns the CPU time (user + system) this process has used.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSubjectHashFile compares HashFile with coreutils sha256sum on
// the same file, and reports heap growth during hashing.
func BenchmarkSubjectHashFile(b *testing.B) {
	size := int64(64 << 20)
	if bigBench() {
		size = 1 << 30
	}
	path := filepath.Join(b.TempDir(), "big.bin")
	writeRandomFile(b, path, size, 1)
	ctx := context.Background()
	// Warm the page cache so both sides read from memory.
	if _, err := HashFile(ctx, path); err != nil {
		b.Fatal(err)
	}
	_, sumErr := exec.LookPath("sha256sum")

	hashWithMem := func(b *testing.B, opts ...HashOption) {
		b.SetBytes(size)
		b.ReportAllocs()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		peakInuse := before.HeapInuse
		for b.Loop() {
			if _, n, err := hashFile(ctx, path, newHashConfig(opts)); err != nil || n != size {
				b.Fatal(err, n)
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakInuse = max(peakInuse, m.HeapInuse)
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
		b.ReportMetric(float64(peakInuse-before.HeapInuse)/(1<<20), "MiB-heap-growth")
	}
	b.Run("slsakit-sha256", func(b *testing.B) { hashWithMem(b) })
	b.Run("slsakit-sha256+sha512", func(b *testing.B) { hashWithMem(b, WithSHA512()) })
	b.Run("sha256sum", func(b *testing.B) {
		if sumErr != nil {
			b.Skip("sha256sum not installed")
		}
		b.SetBytes(size)
		for b.Loop() {
			sha256sumFile(b, path)
		}
	})
	// Both in one loop, interleaved, so machine noise hits both alike. The
	// wall-clock ratio is what a user sees; the CPU-time ratio is the same
	// comparison with the noise of a shared machine taken out.
	b.Run("ratio", func(b *testing.B) {
		if sumErr != nil {
			b.Skip("sha256sum not installed")
		}
		var ours, theirs, oursCPU, theirsCPU time.Duration
		for b.Loop() {
			c0 := selfCPU(b)
			t0 := time.Now()
			if _, err := HashFile(ctx, path); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			oursCPU += selfCPU(b) - c0
			theirsCPU += sha256sumFile(b, path)
			ours += t1.Sub(t0)
			theirs += time.Since(t1)
		}
		b.ReportMetric(float64(theirs)/float64(ours), "x-sha256sum-wall")
		b.ReportMetric(float64(theirsCPU)/float64(oursCPU), "x-sha256sum-cpu")
	})
}

// BenchmarkSubjectHashDir hashes a release directory of many 1 MiB files
// with GOMAXPROCS workers and with one, and reports the speed-up.
func BenchmarkSubjectHashDir(b *testing.B) {
	files := 100
	if bigBench() {
		files = 1000
	}
	const fileSize = 1 << 20
	dir := b.TempDir()
	for i := range files {
		writeRandomFile(b, filepath.Join(dir, fmt.Sprintf("artifact-%04d.tar.gz", i)), fileSize, uint64(i))
	}
	ctx := context.Background()
	if _, err := HashDir(ctx, dir); err != nil { // warm the page cache
		b.Fatal(err)
	}
	total := int64(files) * fileSize
	procs := runtime.GOMAXPROCS(0)
	run := func(workers int) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				rds, err := HashDir(ctx, dir, WithWorkers(workers))
				if err != nil || len(rds) != files {
					b.Fatal(err, len(rds))
				}
			}
		}
	}
	b.Run(fmt.Sprintf("HashDir/workers=%d", procs), run(procs))
	b.Run("HashDir/workers=1", run(1))
	b.Run(fmt.Sprintf("AddSubjectDir/workers=%d", procs), func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
			if err := r.AddSubjectDir(ctx, dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ratio", func(b *testing.B) {
		var par, seq, parCPU, seqCPU time.Duration
		for b.Loop() {
			c0, t0 := selfCPU(b), time.Now()
			if _, err := HashDir(ctx, dir, WithWorkers(procs)); err != nil {
				b.Fatal(err)
			}
			c1, t1 := selfCPU(b), time.Now()
			if _, err := HashDir(ctx, dir, WithWorkers(1)); err != nil {
				b.Fatal(err)
			}
			par += t1.Sub(t0)
			seq += time.Since(t1)
			parCPU += c1 - c0
			seqCPU += selfCPU(b) - c1
		}
		b.ReportMetric(float64(seq)/float64(par), "x-speedup")
		// Cores the parallel run actually got (CPU time / wall time): on a
		// busy machine (or with sched_autogroup sharing a session's share
		// among its threads) this stays near 1 and caps the speed-up.
		b.ReportMetric(float64(parCPU)/float64(par), "cores-used")
		// CPU cost of parallelism: 1.0 means none.
		b.ReportMetric(float64(parCPU)/float64(seqCPU), "x-cpu-cost")
		b.ReportMetric(float64(procs), "procs")
	})
}
