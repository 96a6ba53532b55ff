package sbom

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildCrane builds go-containerregistry's crane (a real binary with
// a dozen dependency modules, pinned in this repository's go.mod) from the
// module cache, offline.
func buildCrane(b *testing.B) (bin string, env []string) {
	b.Helper()
	dir := b.TempDir()
	bin = filepath.Join(dir, "crane")
	env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/google/go-containerregistry/cmd/crane")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("cannot build crane offline: %v\n%s", err, out)
	}
	return bin, env
}

// craneModules checks once that the SBOM's module set is exactly `go
// version -m`'s and returns its size.
func craneModules(b *testing.B, bin string, s *SBOM) int {
	b.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		b.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
			want = append(want, f[0]+" "+f[1]+" "+f[2])
		}
	}
	sortStrings(want)
	if got := modLines(s); !reflect.DeepEqual(got, want) {
		b.Fatalf("module set differs from go version -m:\n got %q\nwant %q", got, want)
	}
	if len(s.Modules) < 10 {
		b.Fatalf("crane has %d modules, want >= 10", len(s.Modules))
	}
	return len(s.Modules)
}

// BenchmarkCrane measures FromBinary plus both encoders on the crane
// binary, in process: default (module cache: zip SHA-256 with the ziphash
// check, licenses), verify (zips rehashed), nocache (build info only).
func BenchmarkCrane(b *testing.B) {
	bin, _ := buildCrane(b)
	for _, mode := range []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"verify", []Option{WithZipVerification(true)}},
		{"nocache", []Option{WithModuleCache(""), WithLicenseScanner(nil)}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			s, err := FromBinary(bin, mode.opts...) // warm: page cache, license scanner
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(craneModules(b, bin, s)), "modules")
			b.ReportAllocs()
			cpu0 := processCPU()
			n := 0
			for b.Loop() {
				n++
				s, err := FromBinary(bin, mode.opts...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.SPDX(); err != nil {
					b.Fatal(err)
				}
				if _, err := s.CycloneDX(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
		})
	}
}

// BenchmarkCraneProcess runs a whole SBOM (both formats) as a fresh
// process, as syft's recorded figure was taken (v1.57: 2.47 s wall,
// 231 MB peak RSS for `syft -o spdx-json` of this crane binary), and
// reports the subprocess's wall and CPU time and peak RSS (its VmHWM).
func BenchmarkCraneProcess(b *testing.B) {
	bin, env := buildCrane(b)
	tool := filepath.Join(b.TempDir(), "sbomrss")
	cmd := exec.Command("go", "build", "-o", tool, "./testdata/sbomrss")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building sbomrss: %v\n%s", err, out)
	}
	for _, mode := range []string{"default", "verify", "nocache"} {
		b.Run(mode, func(b *testing.B) {
			var args []string
			switch mode {
			case "verify":
				args = append(args, "-verify")
			case "nocache":
				args = append(args, "-nocache")
			}
			args = append(args, bin)
			var maxRSS int
			var wall, cpu time.Duration
			n := 0
			for b.Loop() {
				start := time.Now()
				c := exec.Command(tool, args...)
				out, err := c.Output()
				wall += time.Since(start)
				if err != nil {
					b.Fatalf("sbomrss: %v", err)
				}
				lines := strings.Fields(string(out))
				if len(lines) != 2 {
					b.Fatalf("sbomrss output %q", out)
				}
				if m, err := strconv.Atoi(lines[0]); err != nil || m < 10 {
					b.Fatalf("sbomrss output %q", out)
				}
				if kb, err := strconv.Atoi(lines[1]); err == nil && kb > maxRSS {
					maxRSS = kb
				}
				cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
				n++
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MB")
			b.ReportMetric(ms(wall), "wall-ms/run")
			b.ReportMetric(ms(cpu), "cpu-ms/run")
			b.ReportMetric(2470/ms(wall), "x-syft-wall")
			b.ReportMetric(231/(float64(maxRSS)/1024), "x-syft-mem")
		})
	}
}

// processCPU is this process's user+system CPU time so far. Wall time on a
// shared machine says more about the neighbours than about the code.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
