// Command sbomrss writes the SPDX and CycloneDX SBOMs of one Go binary to
// /dev/null and prints the module count. The benchmark runs it as a
// subprocess to measure wall time and peak RSS of a whole SBOM run, the way
// syft's figure was measured.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/slsakit/slsakit/sbom"
)

func main() {
	noCache := flag.Bool("nocache", false, "skip the module cache (no zip sums, no licenses)")
	verify := flag.Bool("verify", false, "rehash module zips")
	flag.Parse()
	opts := []sbom.Option{sbom.WithZipVerification(*verify)}
	if *noCache {
		opts = append(opts, sbom.WithModuleCache(""), sbom.WithLicenseScanner(nil))
	}
	s, err := sbom.FromBinary(flag.Arg(0), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	spdx, err := s.SPDX()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cdx, err := s.CycloneDX()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.DevNull, append(spdx, cdx...), 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(s.Modules))
	fmt.Println(peakRSSKB())
}

// peakRSSKB is this process's peak resident set (VmHWM, Linux), in KB, or
// 0 when unknown. getrusage's maxrss of a child is no good here: the Go
// runtime starts children with vfork, so the parent's resident set is
// charged to the child until exec.
func peakRSSKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
