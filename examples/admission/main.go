// Command admission is a Kubernetes validating admission webhook that
// admits a pod only when every image it runs has provenance that passes a
// slsakit policy (docs/policy.md).
//
// With no flags it runs a demo, offline: it starts an in-process registry,
// pushes three images (one built and signed as the policy requires, one
// unsigned, one referenced by tag) and two multi-arch indexes (one whose
// provenance covers every platform, one whose arm64 image it misses), and
// sends the webhook an AdmissionReview for each, printing the verdicts.
//
// To serve:
//
//	go run ./examples/admission -policy policy.yaml -listen :8443 -tls-cert tls.crt -tls-key tls.key \
//	    -registry-auth-file /var/run/secrets/registry/.dockerconfigjson
//
// Registry credentials come from the kubernetes.io/dockerconfigjson
// secrets mounted at each -registry-auth-file (the pods' imagePullSecrets,
// re-read when the kubelet rotates them), then the docker config, then the
// node's Google service account for gcr.io and *.pkg.dev (GKE workload
// identity); see package oci/keychain.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/keychain"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

func main() {
	policy := flag.String("policy", "", "policy file (YAML or JSON); without it, run the offline demo")
	listen := flag.String("listen", "127.0.0.1:8443", "address to serve on")
	cert := flag.String("tls-cert", "", "TLS certificate (Kubernetes requires TLS for webhooks)")
	key := flag.String("tls-key", "", "TLS key")
	insecure := flag.Bool("insecure-registry", false, "allow plain-HTTP registries")
	allowTags := flag.Bool("allow-tags", false, "resolve tag-only images instead of denying them")
	platforms := flag.String("platforms", "linux/amd64", "comma-separated platforms of the cluster's nodes: a multi-arch image must pass for each its index lists")
	trustedRoot := flag.String("trusted-root", "", "trusted_root.json for policies whose signers are keyless identities")
	var authFiles []string
	flag.Func("registry-auth-file", "a mounted kubernetes.io/dockerconfigjson secret (.dockerconfigjson) with registry credentials; repeatable", func(p string) error {
		authFiles = append(authFiles, p)
		return nil
	})
	flag.Parse()

	var err error
	if *policy == "" {
		err = demo(context.Background(), os.Stdout)
	} else {
		err = serve(*policy, *listen, *cert, *key, *trustedRoot, *insecure, *allowTags, strings.Split(*platforms, ","), authFiles)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(1)
	}
}

func serve(policyPath, listen, cert, key, trustedRoot string, insecure, allowTags bool, platforms, authFiles []string) error {
	p, err := verify.LoadPolicyFile(policyPath)
	if err != nil {
		return err
	}
	reg, err := registryOptions(insecure, authFiles)
	if err != nil {
		return err
	}
	opts := []verify.EngineOption{verify.WithFetcher(verify.OCIFetcher(reg...))}
	if trustedRoot != "" {
		opts = append(opts, verify.WithIdentities(verifykeyless.Identities(verifykeyless.WithTrustedRootFile(trustedRoot))))
	}
	eng, err := verify.NewEngine(context.Background(), p, opts...)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: &Webhook{Engine: eng, Registry: reg, AllowTags: allowTags, Platforms: platforms}, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("admission: serving on %s\n", listen)
	if cert != "" {
		return srv.ListenAndServeTLS(cert, key)
	}
	return srv.ListenAndServe()
}

// registryOptions are the webhook's registry options: plain HTTP if
// insecure, and credentials from the secret files first, then the
// defaults. A missing or broken secret fails here, at start-up, not on
// the first pod.
func registryOptions(insecure bool, authFiles []string) ([]oci.Option, error) {
	var kopts []keychain.Option
	for _, f := range authFiles {
		kopts = append(kopts, keychain.WithDockerConfigJSON(f))
	}
	k, err := keychain.New(kopts...)
	if err != nil {
		return nil, err
	}
	reg := []oci.Option{oci.WithKeychain(k)}
	if insecure {
		reg = append(reg, oci.WithInsecure())
	}
	return reg, nil
}

const (
	demoBuilder   = "https://builders.example.com/images@v1"
	demoBuildType = "https://example.com/buildtypes/image@v1"
)

// demo runs the webhook against an in-process registry on loopback.
func demo(ctx context.Context, out io.Writer) error {
	reg := ocitest.Start()
	defer reg.Close()
	dir, err := os.MkdirTemp("", "slsakit-admission")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		return err
	}
	good, err := pushAttested(ctx, reg, "team/app", demoBuilder, key)
	if err != nil {
		return err
	}
	rogue, err := pushAttested(ctx, reg, "team/rogue", "https://laptop.example.com/me", key)
	if err != nil {
		return err
	}
	unsigned, err := reg.PushImage(ctx, "team/unsigned")
	if err != nil {
		return err
	}
	policyPath, err := writeDemoPolicy(dir, reg.Host(), key)
	if err != nil {
		return err
	}
	p, err := verify.LoadPolicyFile(policyPath)
	if err != nil {
		return err
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		return err
	}
	// Multi-arch: a cluster of amd64 and arm64 nodes.
	multi, err := pushAttestedIndex(ctx, reg, "team/multi", key, true)
	if err != nil {
		return err
	}
	partial, err := pushAttestedIndex(ctx, reg, "team/partial", key, false)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(&Webhook{Engine: eng, Registry: []oci.Option{oci.WithInsecure()}, Platforms: demoPlatforms})
	defer srv.Close()

	for _, c := range []struct{ what, image string }{
		{"built by the trusted builder, signed", good},
		{"signed, but built on a laptop", rogue},
		{"unsigned", unsigned},
		{"by tag", reg.Host() + "/team/app:latest"},
		{"multi-arch, pinned by index digest", multi.Ref},
		{"multi-arch, pinned by its linux/arm64 digest", multi.Platforms["linux/arm64"]},
		{"multi-arch, provenance covers linux/amd64 only", partial.Ref},
	} {
		resp, err := review(ctx, srv.URL, c.image)
		if err != nil {
			return err
		}
		verdict := "ALLOWED"
		if !resp.Allowed {
			verdict = "DENIED: " + resp.Status.Message
		}
		fmt.Fprintf(out, "pod with image %s (%s)\n  %s\n", c.image, c.what, verdict)
	}
	return nil
}

// pushAttested pushes an image and attaches a signed provenance for it.
func pushAttested(ctx context.Context, reg *ocitest.Registry, repo, builder string, key sign.Signer) (string, error) {
	ref, err := reg.PushImage(ctx, repo)
	if err != nil {
		return "", err
	}
	name, hex, _ := strings.Cut(ref, "@sha256:")
	env, err := provenanceEnvelope(ctx, name, hex, builder, key)
	if err != nil {
		return "", err
	}
	if _, err := oci.Attach(ctx, ref, &sign.Attestation{Envelope: env}, oci.WithInsecure()); err != nil {
		return "", err
	}
	return ref, nil
}

// demoPlatforms are the demo cluster's node platforms.
var demoPlatforms = []string{"linux/amd64", "linux/arm64"}

// pushAttestedIndex pushes an amd64+arm64 index and a signed provenance
// naming the index and its platform images (provenance.ImageSubjects).
// With all, it is attached to the index and to each platform image
// (oci.WithRecursive), so a pod pinned by a platform digest finds it; else
// the build "forgot" arm64: it names the index and amd64 only and sits on
// the index, and no arm64 node may run the image.
func pushAttestedIndex(ctx context.Context, reg *ocitest.Registry, repo string, key sign.Signer, all bool) (*ocitest.Index, error) {
	x, err := reg.PushIndex(ctx, repo, demoPlatforms...)
	if err != nil {
		return nil, err
	}
	subjects, err := provenance.ImageSubjects(ctx, x.Ref, oci.NewResolver(oci.WithInsecure()))
	if err != nil {
		return nil, err
	}
	opts := []oci.Option{oci.WithInsecure(), oci.WithRecursive()}
	if !all {
		subjects, opts = subjects[:2], opts[:1] // the index and linux/amd64, sorted first
	}
	rec := provenance.NewRecorder(provenance.Builder{ID: demoBuilder}, demoBuildType)
	rec.Start()
	if err := rec.SetExternalParameter("image", repo); err != nil {
		return nil, err
	}
	if err := rec.AddSubject(subjects...); err != nil {
		return nil, err
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return nil, err
	}
	env, err := sign.SignStatement(ctx, stmt, key)
	if err != nil {
		return nil, err
	}
	if _, err := oci.Attach(ctx, x.Ref, &sign.Attestation{Envelope: env}, opts...); err != nil {
		return nil, err
	}
	return x, nil
}

// provenanceEnvelope signs a provenance of builder for the image name@sha256:hex.
func provenanceEnvelope(ctx context.Context, name, hex, builder string, key sign.Signer) (*sign.Envelope, error) {
	rec := provenance.NewRecorder(provenance.Builder{ID: builder}, demoBuildType)
	rec.Start()
	if err := rec.SetExternalParameter("image", name); err != nil {
		return nil, err
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: name, Digest: intoto.DigestSet{"sha256": hex}}); err != nil {
		return nil, err
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return nil, err
	}
	return sign.SignStatement(ctx, stmt, key)
}

func writeDemoPolicy(dir, host string, key sign.Signer) (string, error) {
	pub, err := sign.MarshalPublicKey(key.Public())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "builder.pub"), pub, 0o644); err != nil {
		return "", err
	}
	policy := fmt.Sprintf(`version: 1
builders:
  - id: %s
buildTypes: [%s]
maxAge: 24h
signers:
  - artifacts: "%s/**"
    keys:
      - file: builder.pub
`, demoBuilder, demoBuildType, host)
	path := filepath.Join(dir, "policy.yaml")
	return path, os.WriteFile(path, []byte(policy), 0o644)
}

// review sends the webhook an AdmissionReview for a one-container pod.
func review(ctx context.Context, url, image string) (*admissionResponse, error) {
	podJSON, _ := json.Marshal(map[string]any{"spec": map[string]any{"containers": []map[string]string{{"name": "app", "image": image}}}})
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{"uid": "demo-uid", "kind": map[string]string{"group": "", "version": "v1", "kind": "Pod"}, "object": json.RawMessage(podJSON)},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out admissionReview
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxReviewSize)).Decode(&out); err != nil {
		return nil, err
	}
	if out.Response == nil || out.Response.UID != "demo-uid" {
		return nil, fmt.Errorf("webhook answered without a matching response")
	}
	return out.Response, nil
}
