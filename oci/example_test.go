package oci_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

func Example() {
	ctx := context.Background()
	reg := ocitest.Start() // in a test: ocitest.NewRegistry(t)
	defer reg.Close()
	image, err := reg.PushImage(ctx, "app") // "127.0.0.1:<port>/app@sha256:..."
	if err != nil {
		log.Fatal(err)
	}

	signer, err := sign.GenerateKey(sign.Ed25519)
	if err != nil {
		log.Fatal(err)
	}
	// The statement is about the image: Attach refuses one that is not.
	_, hex, _ := strings.Cut(image, "@sha256:")
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + hex + `"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)
	env, err := sign.SignStatement(ctx, statement, signer)
	if err != nil {
		log.Fatal(err)
	}

	// Write it where cosign v3 (referrers) and v2 (.att tag) both look.
	res, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithLayout(oci.Both), oci.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("referrer:", res.Referrer.ArtifactType)

	atts, err := oci.List(ctx, image, oci.WithPredicateType("https://slsa.dev/provenance/v1"), oci.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range atts {
		fmt.Println(a.PredicateType, "found in", a.Layout)
	}
	// Output:
	// referrer: application/vnd.dev.sigstore.bundle.v0.3+json
	// https://slsa.dev/provenance/v1 found in both
}

func ExampleResolve() {
	reg := ocitest.Start()
	defer reg.Close()
	image, err := reg.PushImage(context.Background(), "app")
	if err != nil {
		log.Fatal(err)
	}

	// A tag is resolved to the digest of the image it names now; a
	// reference with a digest is returned without a request.
	d, err := oci.Resolve(context.Background(), reg.Host()+"/app:latest", oci.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(image == reg.Host()+"/app@"+d)
	// Output: true
}

func ExampleNewResolver() {
	reg := ocitest.Start()
	defer reg.Close()
	if _, err := reg.PushImage(context.Background(), "base"); err != nil {
		log.Fatal(err)
	}
	// *oci.Resolver is the provenance package's image resolver.
	r := oci.NewResolver(oci.WithInsecure())
	d, err := r.ResolveDigest(context.Background(), reg.Host()+"/base:latest")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(d) == len("sha256:")+64)
	// Output: true
}
