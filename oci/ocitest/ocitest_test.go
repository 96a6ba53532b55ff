package ocitest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci/ocitest"
)

func TestRegistry(t *testing.T) {
	for _, on := range []bool{true, false} {
		reg := ocitest.NewRegistry(t, ocitest.WithReferrers(on))
		if !strings.HasPrefix(reg.Host(), "127.0.0.1:") || reg.Referrers() != on {
			t.Fatalf("Host %q Referrers %v", reg.Host(), reg.Referrers())
		}
		ref := reg.PushRandomImage(t, "a/b")
		if !strings.HasPrefix(ref, reg.Host()+"/a/b@sha256:") {
			t.Fatalf("ref %q", ref)
		}
		digest := ref[strings.Index(ref, "@")+1:]
		resp, err := http.Get(reg.URL() + "/v2/a/b/referrers/" + digest)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == http.StatusOK) != on {
			t.Errorf("referrers API on=%v: status %d", on, resp.StatusCode)
		}
		// A manifest with a subject gets OCI-Subject only with the API on.
		body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest + `","size":1}}`
		req, _ := http.NewRequest(http.MethodPut, reg.URL()+"/v2/a/b/manifests/x", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("OCI-Subject"); (got == digest) != on {
			t.Errorf("on=%v: OCI-Subject %q", on, got)
		}
	}
}

func TestTransports(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ft := ocitest.NewFaultTransport(nil, 0.5, 7)
	ct := ocitest.NewCountingTransport(ft)
	c := &http.Client{Transport: ct}
	fails := 0
	for i := 0; i < 100; i++ {
		resp, err := c.Get(reg.URL() + "/v2/")
		if err != nil {
			fails++
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fails++
		}
	}
	if ct.Count() != 100 || ct.ByMethod()["GET"] != 100 {
		t.Errorf("count %d %v", ct.Count(), ct.ByMethod())
	}
	if fails != ft.Faults() || fails < 30 || fails > 70 {
		t.Errorf("fails %d faults %d", fails, ft.Faults())
	}
	// Same seed, same faults.
	ft2 := ocitest.NewFaultTransport(nil, 0.5, 7)
	c2 := &http.Client{Transport: ft2}
	for i := 0; i < 100; i++ {
		if resp, err := c2.Get(reg.URL() + "/v2/"); err == nil {
			resp.Body.Close()
		}
	}
	if ft2.Faults() != ft.Faults() {
		t.Errorf("not deterministic: %d vs %d", ft2.Faults(), ft.Faults())
	}
	ct.Reset()
	if ct.Count() != 0 || len(ct.ByMethod()) != 0 {
		t.Error("Reset")
	}
}
