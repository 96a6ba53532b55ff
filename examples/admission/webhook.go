package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/verify"
)

// maxReviewSize bounds an AdmissionReview request body.
const maxReviewSize = 1 << 20

// Webhook is a validating admission webhook: it admits a pod only when
// every image it runs passes the policy.
type Webhook struct {
	Engine   *verify.Engine
	Registry []oci.Option // registry access: auth, plain HTTP for loopback…
	// AllowTags resolves tag-only images to digests. By default they are
	// denied: a tag can move between admission and the pull.
	AllowTags bool
	// Timeout bounds the checks of one review (default 10s).
	Timeout time.Duration
	// Platforms are the platforms of the cluster's nodes, "os/arch[/variant]"
	// (default linux/amd64). An image that names an index is admitted
	// only if, for every one of these the index lists, the image a node of
	// that platform pulls passes the policy: the pod may be scheduled on
	// any of them.
	Platforms []string
}

// The parts of admission.k8s.io/v1 AdmissionReview and core/v1 Pod that
// the webhook reads and writes; the full types would pull in Kubernetes.
type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

type admissionRequest struct {
	UID    string                `json:"uid"`
	Kind   struct{ Kind string } `json:"kind"`
	Object json.RawMessage       `json:"object"`
}

type admissionResponse struct {
	UID      string   `json:"uid"`
	Allowed  bool     `json:"allowed"`
	Status   *status  `json:"status,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

type status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type pod struct {
	Spec struct {
		Containers          []container `json:"containers"`
		InitContainers      []container `json:"initContainers"`
		EphemeralContainers []container `json:"ephemeralContainers"`
	} `json:"spec"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// ServeHTTP answers one AdmissionReview.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(rw, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxReviewSize+1))
	if err != nil || len(body) > maxReviewSize {
		http.Error(rw, "request body unreadable or over 1 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(rw, "not an AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	resp := w.review(ctx, review.Request)
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(admissionReview{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: resp})
}

func (w *Webhook) review(ctx context.Context, r *admissionRequest) *admissionResponse {
	resp := &admissionResponse{UID: r.UID}
	deny := func(msg string) *admissionResponse {
		resp.Allowed, resp.Status = false, &status{Code: http.StatusForbidden, Message: msg}
		return resp
	}
	if r.Kind.Kind != "Pod" {
		return deny(fmt.Sprintf("this webhook reviews Pods, got %q", r.Kind.Kind))
	}
	var p pod
	if err := json.Unmarshal(r.Object, &p); err != nil {
		return deny("pod object unreadable: " + err.Error())
	}
	var reasons []string
	for _, c := range append(append(p.Spec.InitContainers, p.Spec.Containers...), p.Spec.EphemeralContainers...) {
		if why := w.checkImage(ctx, c.Image); why != "" {
			reasons = append(reasons, fmt.Sprintf("container %q image %s: %s", c.Name, c.Image, why))
		}
	}
	if len(reasons) > 0 {
		return deny(strings.Join(reasons, "; "))
	}
	resp.Allowed = true
	return resp
}

// checkImage returns why image is refused, or "" when it passes.
func (w *Webhook) checkImage(ctx context.Context, image string) string {
	if _, err := name.NewDigest(image, name.WeakValidation); err != nil && !w.AllowTags {
		return "not pinned by digest (use image@sha256:…)"
	}
	idx, err := oci.ReadIndex(ctx, image, w.Registry...)
	switch {
	case errors.Is(err, oci.ErrNotIndex): // one image (or one platform's, by its digest)
		return w.evaluate(ctx, image, w.Registry)
	case err != nil:
		return err.Error()
	}
	platforms := w.Platforms
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	// The index's digest pins what each node pulls: verify each of those.
	pinned := idx.Repository + "@" + idx.Digest
	var why []string
	covered := 0
	for _, p := range platforms {
		pl, err := oci.ParsePlatform(p)
		if err != nil {
			return err.Error()
		}
		if _, err := idx.Platform(pl); errors.Is(err, oci.ErrNoPlatform) {
			continue // no node of this platform can run the pod
		}
		opts := append(w.Registry[:len(w.Registry):len(w.Registry)], oci.WithPlatform(p))
		covered++
		if r := w.evaluate(ctx, pinned, opts); r != "" {
			why = append(why, p+": "+r)
		}
	}
	if covered == 0 {
		return fmt.Sprintf("index has no image for the cluster's platforms %s", strings.Join(platforms, ", "))
	}
	return strings.Join(why, "; ")
}

// evaluate returns why the image ref (with opts: its platform) fails the
// policy, or "".
func (w *Webhook) evaluate(ctx context.Context, image string, opts []oci.Option) string {
	rep, err := w.Engine.EvaluateImage(ctx, image, opts...)
	if err == nil {
		return ""
	}
	if rep == nil {
		return err.Error()
	}
	var why []string
	for _, c := range rep.Checks {
		if c.Outcome == verify.Failed {
			why = append(why, strings.TrimPrefix(c.Err.Error(), "verify: "))
		}
	}
	for i, a := range rep.Attestations {
		if a.Err() != nil && len(rep.Attestations) <= 4 {
			why = append(why, fmt.Sprintf("attestation %d rejected: %s", i, strings.ReplaceAll(a.Err().Error(), "\n", "; ")))
		}
	}
	return strings.Join(why, "; ")
}
