package ocitest_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// A test of code that attaches attestations would read like this, with
// ocitest.NewRegistry(t) instead of Start/Close.
func Example() {
	reg := ocitest.Start(ocitest.WithReferrers(false)) // a registry without the referrers API
	defer reg.Close()
	ctx := context.Background()
	image, err := reg.PushImage(ctx, "app")
	if err != nil {
		log.Fatal(err)
	}

	signer, err := sign.GenerateKey(sign.Ed25519)
	if err != nil {
		log.Fatal(err)
	}
	_, hex, _ := strings.Cut(image, "@sha256:") // the statement is about the image
	env, err := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p",`+
		`"subject":[{"name":"app","digest":{"sha256":"`+hex+`"}}],"predicate":{}}`), signer)
	if err != nil {
		log.Fatal(err)
	}

	requests := ocitest.NewCountingTransport(nil)
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithTransport(requests)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("requests:", requests.Count())
	// Output: requests: 8
}
