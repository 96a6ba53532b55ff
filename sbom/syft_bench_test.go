package sbom

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BenchmarkSyftProcess is issue #16's comparison with syft, process
// against process (syft is not a library this module links): the slsakit
// CLI's `slsakit sbom` against `syft scan`, both writing SPDX JSON, on
//
//   - binary: the crane binary (goal ≥ 30× syft);
//   - image: BenchmarkImageSBOM's 200 MB image as a docker-archive tarball
//     (goal ≥ 20× syft).
//
// The two run alternately, SLSAKIT_SYFT_ROUNDS times (default 5), so that
// the machine's load falls on both alike; reported are each side's median
// wall and CPU time and peak RSS, and the median, min and max of the
// per-round wall and CPU ratios syft/slsakit. syft comes from
// SLSAKIT_SYFT_BIN (skipped without it); syft runs offline, its update
// check, catalogers' network access and cache off.
//
//	SLSAKIT_SYFT_BIN=/root/.cache/slsakit-tools/syft-v1.57.0 go test ./sbom -run '^$' -bench SyftProcess -benchtime 1x
func BenchmarkSyftProcess(b *testing.B) {
	syft := os.Getenv("SLSAKIT_SYFT_BIN")
	if syft == "" {
		b.Skip("SLSAKIT_SYFT_BIN not set")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("needs GNU time at /usr/bin/time for the peak RSS")
	}
	rounds := 5
	if s := os.Getenv("SLSAKIT_SYFT_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil || rounds <= 0 {
			b.Fatalf("SLSAKIT_SYFT_ROUNDS=%q", s)
		}
	}
	crane, env := buildCrane(b)
	cli := filepath.Join(b.TempDir(), "slsakit")
	cmd := exec.Command("go", "build", "-o", cli, "github.com/slsakit/slsakit/cmd/slsakit")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building slsakit: %v\n%s", err, out)
	}
	archive := filepath.Join(b.TempDir(), "bench.tar")
	ref, err := name.ParseReference("example.com/bench:1")
	must(b, err)
	must(b, tarball.WriteToFile(archive, ref, benchImage(b)))
	home := b.TempDir()
	syftEnv := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "SYFT_CHECK_FOR_APP_UPDATE=false",
		"SYFT_CACHE_DIR=" + filepath.Join(home, "cache"), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY="}
	slsakitEnv := append(env[:len(env):len(env)], "HOME="+home)
	for _, tc := range []struct {
		name           string
		slsakit, syftA []string
	}{
		{"binary", []string{"sbom", "--format", "spdx", crane}, []string{"scan", "-q", "-o", "spdx-json", "file:" + crane}},
		{"image", []string{"sbom", "--format", "spdx", "--image", "docker-archive:" + archive}, []string{"scan", "-q", "-o", "spdx-json", "docker-archive:" + archive}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			type run struct {
				wall, cpu time.Duration
				rssKB     int64
			}
			// Peak RSS is GNU time's %M of the command: the child's own
			// rusage would include this test process's memory (Go starts
			// children with vfork, and ru_maxrss keeps the pre-exec peak).
			rssFile := filepath.Join(b.TempDir(), "rss")
			exec1 := func(bin string, args, env []string) run {
				c := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
				c.Env = env
				c.Dir = home
				t0 := time.Now()
				out, err := c.CombinedOutput()
				wall := time.Since(t0)
				if err != nil {
					b.Fatalf("%s %v: %v\n%.2000s", filepath.Base(bin), args, err, out)
				}
				raw, err := os.ReadFile(rssFile)
				must(b, err)
				rss, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
				must(b, err)
				return run{wall, c.ProcessState.UserTime() + c.ProcessState.SystemTime(), rss}
			}
			// Warm the page cache and syft's first-run set-up on both sides.
			exec1(cli, tc.slsakit, slsakitEnv)
			exec1(syft, tc.syftA, syftEnv)
			var ours, theirs []run
			for range rounds {
				ours = append(ours, exec1(cli, tc.slsakit, slsakitEnv))
				theirs = append(theirs, exec1(syft, tc.syftA, syftEnv))
			}
			med := func(v []float64) float64 {
				s := slices.Clone(v)
				slices.Sort(s)
				return s[len(s)/2]
			}
			ms := func(rs []run, f func(run) time.Duration) []float64 {
				var out []float64
				for _, r := range rs {
					out = append(out, float64(f(r).Microseconds())/1000)
				}
				return out
			}
			wallOf := func(r run) time.Duration { return r.wall }
			cpuOf := func(r run) time.Duration { return r.cpu }
			rss := func(rs []run) float64 {
				var m int64
				for _, r := range rs {
					m = max(m, r.rssKB)
				}
				return float64(m) / 1024
			}
			b.ReportMetric(med(ms(ours, wallOf)), "slsakit-wall-ms")
			b.ReportMetric(med(ms(theirs, wallOf)), "syft-wall-ms")
			b.ReportMetric(rss(ours), "slsakit-peak-RSS-MB")
			b.ReportMetric(rss(theirs), "syft-peak-RSS-MB")
			for _, k := range []struct {
				name string
				f    func(run) time.Duration
			}{{"wall", wallOf}, {"cpu", cpuOf}} {
				var ratios []float64
				for i := range ours {
					ratios = append(ratios, float64(k.f(theirs[i]))/float64(k.f(ours[i])))
				}
				b.ReportMetric(med(ratios), "x-syft-"+k.name)
				b.Logf("%s: syft/slsakit %s by round %s (median %.1f, min %.1f, max %.1f); slsakit %s ms %.0f, syft %.0f",
					tc.name, k.name, fmt.Sprintf("%.1f", ratios), med(ratios), slices.Min(ratios), slices.Max(ratios), k.name, ms(ours, k.f), ms(theirs, k.f))
			}
		})
	}
}
