package sbom

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// owners renders each binary's ownership as "path owner evidence replaced".
func owners(c *ImageContents) map[string]string {
	m := map[string]string{}
	for _, b := range c.Binaries {
		m[b.Path] = b.Owner + " " + b.Evidence + " " + b.ReplacedOwner
	}
	return m
}

// TestDpkgOwnership: a binary is related to the package dpkg says
// installed it only while it is still that package's file: its MD5
// matches the package's md5sums, or, with no sum, no later layer wrote
// it. A file overwritten (other MD5, or a later layer) names the package
// only as replaced; a package not installed owns nothing.
func TestDpkgOwnership(t *testing.T) {
	app := appBinary(t)
	changed := app + "\x00appended"
	status := dpkgStanza("mytool", "1.0", "amd64", "install ok installed") + dpkgStanza("other", "2.0", "amd64", "install ok installed") +
		dpkgStanza("repl", "3.0", "amd64", "install ok installed") + dpkgStanza("gone", "4.0", "amd64", "deinstall ok config-files")
	l1 := layerOf(t,
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status", body: status},
		tfile{name: "var/lib/dpkg/info/mytool.list", body: "/.\n/usr\n/usr/bin\n/usr/bin/mytool\n"},
		tfile{name: "var/lib/dpkg/info/mytool.md5sums", body: md5Hex(app) + "  usr/bin/mytool\n"},
		tfile{name: "var/lib/dpkg/info/other:amd64.list", body: "/usr/bin/other\n/usr/bin/other2\n"},
		tfile{name: "var/lib/dpkg/info/repl.md5sums", body: md5Hex(app) + "  usr/bin/replaced\n"},
		tfile{name: "var/lib/dpkg/info/gone.list", body: "/usr/bin/orphan\n"},
		tfile{name: "usr/bin/mytool", body: app},
		tfile{name: "usr/bin/other", body: app},
		tfile{name: "usr/bin/replaced", body: app},
		tfile{name: "usr/bin/orphan", body: app},
	)
	l2 := layerOf(t,
		tfile{name: "usr/bin/replaced", body: changed},
		tfile{name: "usr/bin/other2", body: app},
	)
	c, err := ScanImage(context.Background(), imageOf(t, l1, l2), WithModuleCache(""))
	must(t, err)
	deb := func(n, v string) string { return "pkg:deb/debian/" + n + "@" + v + "?arch=amd64&distro=debian-12" }
	want := map[string]string{
		"/usr/bin/mytool":   deb("mytool", "1.0") + " md5 ",
		"/usr/bin/other":    deb("other", "2.0") + " layer ",
		"/usr/bin/other2":   "  " + deb("other", "2.0"),
		"/usr/bin/replaced": "  " + deb("repl", "3.0"),
		"/usr/bin/orphan":   "  ",
	}
	got := owners(c)
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}

	// The document: the image CONTAINS the package, which CONTAINS the file.
	s, err := c.SBOM("example.com/owned", WithCreated(fixedTime))
	must(t, err)
	doc, err := s.SPDX()
	must(t, err)
	must(t, ValidateSPDX(doc))
	var sd struct {
		Packages []struct {
			SPDXID, Name string
			FileName     string `json:"packageFileName"`
		}
		Relationships []struct{ SpdxElementId, RelatedSpdxElement, RelationshipType string }
	}
	must(t, json.Unmarshal(doc, &sd))
	ids := map[string]string{}
	for _, p := range sd.Packages {
		ids[p.Name] = p.SPDXID
		if p.FileName != "" {
			ids[p.FileName] = p.SPDXID
		}
	}
	holders := map[string][]string{}
	for _, r := range sd.Relationships {
		if r.RelationshipType == "CONTAINS" {
			holders[r.RelatedSpdxElement] = append(holders[r.RelatedSpdxElement], r.SpdxElementId)
		}
	}
	if h := holders[ids["/usr/bin/mytool"]]; len(h) != 1 || h[0] != ids["mytool"] {
		t.Errorf("/usr/bin/mytool held by %q, want the mytool package %s", h, ids["mytool"])
	}
	if h := holders[ids["/usr/bin/replaced"]]; len(h) != 1 || h[0] != ids["example.com/owned"] {
		t.Errorf("/usr/bin/replaced held by %q, want the image", h)
	}
	if _, err := s.CycloneDX(); err != nil {
		t.Fatal(err)
	}

	// distroless: status.d/<pkg>.md5sums.
	dl := layerOf(t,
		tfile{name: "var/lib/dpkg/status.d/mytool", body: dpkgStanza("mytool", "1.0", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/mytool.md5sums", body: md5Hex(app) + "  usr/bin/mytool\n"},
		tfile{name: "usr/bin/mytool", body: app},
	)
	c, err = ScanImage(context.Background(), imageOf(t, dl), WithModuleCache(""))
	must(t, err)
	if got := owners(c)["/usr/bin/mytool"]; got != "pkg:deb/debian/mytool@1.0?arch=amd64 md5 " {
		t.Errorf("distroless: %q", got)
	}

	// A root file system on disk: sums decide (no layers to go by), though
	// the binaries come before /var/lib/dpkg in path order.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"etc/os-release":                     debianOSRelease,
		"var/lib/dpkg/status":                status,
		"var/lib/dpkg/info/mytool.md5sums":   md5Hex(app) + "  usr/bin/mytool\n",
		"var/lib/dpkg/info/repl.md5sums":     md5Hex(app) + "  usr/bin/replaced\n",
		"var/lib/dpkg/info/other:amd64.list": "/usr/bin/other\n",
		"usr/bin/README":                     "binaries",
	})
	for p, body := range map[string]string{"usr/bin/mytool": app, "usr/bin/replaced": changed, "usr/bin/other": app} {
		must(t, os.WriteFile(filepath.Join(dir, p), []byte(body), 0o755))
	}
	c, err = FromDirectory(context.Background(), dir, WithModuleCache(""))
	must(t, err)
	got = owners(c)
	for p, w := range map[string]string{
		"/usr/bin/mytool":   deb("mytool", "1.0") + " md5 ",
		"/usr/bin/replaced": "  " + deb("repl", "3.0"),
		"/usr/bin/other":    "  ",
	} {
		if got[p] != w {
			t.Errorf("directory %s: got %q, want %q", p, got[p], w)
		}
	}
}
