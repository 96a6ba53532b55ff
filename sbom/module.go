package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/licensecheck"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// purl builds pkg:golang/<namespace>/<name>@<version>. Each path segment and
// the version are percent-encoded (every byte outside ALPHA / DIGIT / "." /
// "-" / "_" / "~" becomes %XX, so "+incompatible" is "%2Bincompatible");
// the "/" separators between namespace segments stay literal.
func purl(path, version string) string {
	var b strings.Builder
	b.Grow(len("pkg:golang/") + len(path) + len(version) + 8)
	b.WriteString("pkg:golang/")
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		pctEncode(&b, seg)
	}
	if version != "" {
		b.WriteByte('@')
		pctEncode(&b, version)
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == '~'
}

func pctEncode(b *strings.Builder, s string) {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
}

// proxyZipURL is https://proxy.golang.org/<EscapePath>/@v/<EscapeVersion>.zip,
// or "" when path or version cannot be escaped (not a valid module).
func proxyZipURL(path, version string) string {
	if version == "" {
		return ""
	}
	ep, err := module.EscapePath(path)
	if err != nil {
		return ""
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return ""
	}
	return "https://proxy.golang.org/" + ep + "/@v/" + ev + ".zip"
}

// pseudoVersion derives the version of a main module from its VCS stamp:
// a pseudo-version v0.0.0-<time>-<rev12> (vN.0.0-... for a /vN module path)
// with a "+dirty" suffix for a modified tree, as the go command (1.24+)
// stamps it. ok is false without a git revision and time.
func pseudoVersion(modPath, vcs, rev, vcsTime string, modified bool) (string, bool) {
	if vcs != "git" || len(rev) < 12 || vcsTime == "" {
		return "", false
	}
	t, err := time.Parse(time.RFC3339Nano, vcsTime)
	if err != nil {
		return "", false
	}
	major := ""
	if _, pathMajor, ok := module.SplitPathVersion(modPath); ok && pathMajor != "" {
		major = strings.TrimLeft(pathMajor, "/.")
	}
	v := module.PseudoVersion(major, "", t, rev[:12])
	if modified {
		v += "+dirty"
	}
	return v, true
}

// maxLicenseFile is the largest license file read for detection.
const maxLicenseFile = 1 << 20

// licenseMinPercent is the share of a license file's words that must match
// known licenses for the result to be reported.
const licenseMinPercent = 80

// spdxListed reports whether a licensecheck v0.3.1 identifier is on the
// SPDX license list (all but these few are); a file matching an unlisted
// one is not reported.
func spdxListed(id string) bool {
	switch id {
	case "Anti996", "GooglePatentClause", "Aladdin-9", "CommonsClause", "BSD",
		"GooglePatentsFile", "GPL", "CC-BY-NC-SA-3.0-US", "Prosperity-3.0.0":
		return false
	}
	return true
}

// commonLicenses are the licenses the default scanner knows: those Go
// modules overwhelmingly use. Compiling licensecheck's full builtin set
// takes seconds; this subset takes a fraction of that. A license outside it
// is not matched, so the module gets NOASSERTION, never a wrong answer.
// WithLicenseScanner takes any other scanner (licensecheck's builtin set,
// for instance).
func commonLicenses() []licensecheck.License {
	want := map[string]bool{}
	for _, id := range []string{"0BSD", "AGPL-3.0", "Apache-1.1", "Apache-2.0", "BSD-2-Clause",
		"BSD-2-Clause-Patent", "BSD-3-Clause", "BSD-4-Clause", "BSL-1.0", "BlueOak-1.0.0",
		"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "EPL-1.0", "EPL-2.0", "GPL-2.0",
		"GPL-3.0", "ISC", "LGPL-2.1", "LGPL-3.0", "MIT", "MIT-0", "MPL-2.0", "Unlicense", "Zlib"} {
		want[id] = true
	}
	var out []licensecheck.License
	for _, l := range licensecheck.BuiltinLicenses() {
		if want[l.ID] && l.LRE != "" {
			out = append(out, l)
		}
	}
	return out
}

// defaultScanner is built once, on first use, and never changes after.
var defaultScanner = sync.OnceValues(func() (*licensecheck.Scanner, error) {
	return licensecheck.NewScanner(commonLicenses())
})

// detectLicenses scans the license files at the top of dir (LICENSE*,
// LICENCE*, COPYING*, case-insensitive) with licensecheck, offline. It
// returns sorted SPDX identifiers, or nil unless every license file found is
// matched confidently.
//
// The scanner is asked for only once a license file is found: compiling
// it costs more CPU than everything else an SBOM of a binary does, so a
// run that finds no license file (no module cache) must not pay for it.
func detectLicenses(scanner func() *licensecheck.Scanner, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	found := false
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		n := strings.ToUpper(e.Name())
		if !(strings.HasPrefix(n, "LICENSE") || strings.HasPrefix(n, "LICENCE") || strings.HasPrefix(n, "COPYING")) {
			continue
		}
		found = true
		text, err := readLimited(filepath.Join(dir, e.Name()), maxLicenseFile)
		if err != nil {
			return nil
		}
		sc := scanner()
		if sc == nil {
			return nil
		}
		cov := sc.Scan(text)
		if cov.Percent < licenseMinPercent || len(cov.Match) == 0 {
			return nil
		}
		for _, m := range cov.Match {
			if m.IsURL || !spdxListed(m.ID) {
				return nil
			}
			seen[m.ID] = true
		}
	}
	if !found {
		return nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// fileSHA256 streams path through SHA-256.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// enrich fills ZipSHA256 and Licenses from the module cache, in parallel.
// dirs optionally gives a module's source directory (FromSource knows it,
// and for local replacements it is the only place to look).
func enrich(ctx context.Context, c *config, mods []*Module, dirs map[*Module]string) {
	if (c.modCache == "" && len(dirs) == 0) || len(mods) == 0 {
		return
	}
	if fi, err := os.Stat(c.modCache); err == nil && fi.IsDir() && c.licensesOn() {
		// Compile the license scanner (once per process) while zips hash;
		// only when there is a module cache to find license files in.
		go c.licenseScanner()
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > len(mods) {
		workers = len(mods)
	}
	work := make(chan *Module)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				enrichOne(c, m, dirs[m])
			}
		}()
	}
	for _, m := range mods {
		if ctx.Err() != nil {
			break
		}
		work <- m
	}
	close(work)
	wg.Wait()
}

func enrichOne(c *config, m *Module, dir string) {
	if m.LocalDir == "" && m.Version != "" && c.modCache != "" {
		ep, err1 := module.EscapePath(m.Path)
		ev, err2 := module.EscapeVersion(m.Version)
		if err1 == nil && err2 == nil {
			zip := filepath.Join(c.modCache, "cache", "download", filepath.FromSlash(ep), "@v", ev+".zip")
			if sum, err := fileSHA256(zip); err == nil {
				ok := true
				switch {
				case m.Sum == "":
				case c.verifyZips:
					h1, err := dirhash.HashZip(zip, dirhash.Hash1)
					ok = err == nil && h1 == m.Sum
				default:
					// The go command writes <v>.ziphash, the zip's h1, once it
					// has checked the zip against go.sum and the checksum
					// database; it must name the same tree as the build.
					zh, err := readLimited(strings.TrimSuffix(zip, ".zip")+".ziphash", 1024)
					ok = err == nil && strings.TrimSpace(string(zh)) == m.Sum
				}
				if ok {
					m.ZipSHA256 = sum
				}
			}
			if dir == "" {
				dir = filepath.Join(c.modCache, filepath.FromSlash(ep)+"@"+ev)
			}
		}
	}
	if dir != "" && c.licensesOn() {
		m.Licenses = detectLicenses(c.licenseScanner, dir)
	}
}
