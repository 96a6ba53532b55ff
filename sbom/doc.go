// Package sbom produces exact SPDX 2.3 and CycloneDX 1.6 (or 1.5) software
// bills of materials for Go builds, and wraps them as in-toto statements
// ready for sign.SignStatement.
//
// # Sources of truth
//
// FromBinary (or FromReaderAt) reads the build information the Go
// toolchain embeds in every executable: the module set is exactly the one
// `go version -m` prints, and the root artifact is the file with the SHA-256
// of its bytes. A non-Go, truncated or corrupt file yields ErrNotGoBinary.
//
// FromSource runs `go list -deps -json` for the packages a build would
// compile and keeps only the modules that provide one of them (never `go
// list -m all`'s superset). Its relationships are the module graph of those
// packages: module A DEPENDS_ON module B when a package of A imports one of
// B. Build settings come from `go env` plus the caller's flags.
//
// Both fill the same model, SBOM, which both encoders consume.
//
// # Fields
//
//   - Main module version: WithMainVersion when given, else the version the
//     toolchain stamped, else a pseudo-version from the VCS stamp
//     (vcs.revision, vcs.time, "+dirty" when modified; a binary does not
//     record the latest tag, so the base is vN.0.0), else empty. FromSource
//     asks git, with the latest reachable tag as base, exactly as the go
//     command stamps it. Never "(devel)".
//   - Modules are reported after replace directives; the original
//     requirement is kept (SPDX annotation and comment, CycloneDX property
//     and pedigree ancestor). A replacement by a local directory keeps the
//     original path and version, has no purl and NOASSERTION as download
//     location.
//   - purl: pkg:golang/<path>@<version>, every path segment and the version
//     percent-encoded ("+incompatible" becomes "%2Bincompatible"). Case is
//     preserved: Go module paths are case sensitive. The standard library is
//     pkg:golang/stdlib@<version> with the "go" prefix removed (1.25.8).
//   - Download location: the module proxy URL of the module zip,
//     https://proxy.golang.org/<escaped path>/@v/<escaped version>.zip.
//   - The go.sum "h1:" hash is kept as the annotation/property
//     slsakit:go:module:h1. It is never written as a SHA256 checksum: it is
//     not the SHA-256 of anything a user downloads.
//   - The real SHA-256 of the module zip (the file the proxy serves) is
//     reported as a SHA256 checksum / SHA-256 hash when the local module
//     cache holds the zip and its recorded h1 matches (see
//     WithZipVerification).
//   - Licenses are detected offline with licensecheck from LICENSE, LICENCE
//     and COPYING files in the module cache; only confident matches of SPDX
//     identifiers are reported, NOASSERTION otherwise. Nothing is downloaded.
//   - Build settings (GOOS, GOARCH, CGO_ENABLED, -trimpath, -ldflags,
//     -tags, vcs.*) are SPDX annotations and CycloneDX properties named
//     slsakit:go:build:<key>.
//   - Relationships: DOCUMENT DESCRIBES the root; root CONTAINS the main
//     module; from a binary the main module DEPENDS_ON every module and the
//     standard library; from source, the package-import module graph.
//
// Output is deterministic for a fixed WithCreated and WithNamespace (a
// namespace is otherwise derived from the content). ValidateSPDX checks an
// SPDX document beyond what spdx/tools-golang validates.
//
// # Images and tarballs
//
// ScanImage walks a go-containerregistry v1.Image's layers bottom to top
// in one streaming pass: each layer is decompressed once, never extracted
// to disk nor held in memory, and whiteouts (.wh.<name>, opaque
// directories) apply as in a container runtime. FromImage (a registry
// reference), FromImageTarball, FromOCILayout and ScanIndex (one result
// per platform of a multi-platform index, or WithPlatform's) all use it;
// FromTarball applies it to a release tarball and FromDirectory to a
// directory on disk (an unpacked release or a root file system; its
// digest is that of its sorted sha256sum listing, symlinks never
// followed). Both open the archives they hold (*.tar, *.tar.gz, *.tgz,
// one level deep): a `docker save` image tarball, such as the
// kube-apiserver.tar a Kubernetes server release ships, is read in the same
// pass as the image `docker load` would load (layers merged in its
// manifest's order, checked against its config's diff_ids) and its
// packages are related to that file entry; bytes read from nested
// archives are bounded by WithMaxNestedBytes. The result, ImageContents,
// holds:
//
//   - OS packages from /var/lib/dpkg/status (Status "install ok
//     installed" only), distroless' /var/lib/dpkg/status.d/* and Alpine's
//     /lib/apk/db/installed, with purls pkg:deb/<os-release
//     ID>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID> and
//     pkg:apk/alpine/..., the layer that introduced each, and the license
//     only where the database states one (apk L:; written as a declared
//     license only when it is an SPDX expression of listed identifiers,
//     else kept verbatim as slsakit:os:license-stated). dpkg states no
//     license: /usr/share/doc/*/copyright is free text and is not guessed
//     from. RPM databases are not read (no pure-Go reader is in the module
//     graph).
//   - dpkg file ownership (/var/lib/dpkg/info/<pkg>.list and .md5sums,
//     distroless' status.d/<pkg>.md5sums), for the files the SBOM reports:
//     a Go binary is CONTAINED by the package that installed it while it is
//     still that package's file (its MD5 matches the md5sums; with no sum,
//     in an image, no later layer wrote it), else the package is named only
//     as replaced. Other files are not listed (an SPDX File needs its own
//     checksum); the lists are bounded by MaxOwnedPaths.
//   - Go binaries, each with its own SBOM (FromReaderAt). Executables are
//     buffered in memory to be read (debug/buildinfo needs random
//     access), one reused buffer, bounded by WithMaxBinarySize.
//
// Symlinks and hard links are never followed; a tar name with a ".."
// segment is ErrInvalidImage; a package database over MaxPackageDBSize,
// more than MaxImageEntries entries or MaxPackages packages is
// ErrTooLarge. ImageContents.SBOM gives the SBOM both encoders write: the
// image (subject: its manifest digest, or the tarball's SHA-256) CONTAINS
// every OS package and every binary, each binary CONTAINS its main module,
// which DEPENDS_ON its modules.
//
// # Attestations
//
// SPDXStatement and CycloneDXStatement return in-toto Statement v1 JSON
// with predicate types https://spdx.dev/Document and
// https://cyclonedx.org/bom; the subject defaults to the root artifact and
// its SHA-256.
package sbom
