package sbom_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slsakit/slsakit/sbom"
)

// ExampleScanImage scans an image of two layers, the second of which
// deletes a package's status.d entry (a whiteout).
func ExampleScanImage() {
	layer := func(files map[string]string) *bytes.Buffer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range []string{"etc/os-release", "var/lib/dpkg/status.d/libc6", "var/lib/dpkg/status.d/.wh.tzdata", "var/lib/dpkg/status.d/tzdata"} {
			body, ok := files[n]
			if !ok {
				continue
			}
			tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(body))
		}
		tw.Close()
		return &buf
	}
	var layers []*bytes.Buffer
	layers = append(layers,
		layer(map[string]string{
			"etc/os-release":               "ID=debian\nVERSION_ID=12\n",
			"var/lib/dpkg/status.d/libc6":  "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n",
			"var/lib/dpkg/status.d/tzdata": "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
		}),
		layer(map[string]string{"var/lib/dpkg/status.d/.wh.tzdata": ""}),
	)
	img := empty.Image
	for _, b := range layers {
		data := b.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			fmt.Println(err)
			return
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			fmt.Println(err)
			return
		}
	}
	c, err := sbom.ScanImage(context.Background(), img)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range c.Packages {
		fmt.Println(p.PURL())
	}
	// Output:
	// pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12
}
