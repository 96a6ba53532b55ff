// Command gcp-kms signs an in-toto statement with a Google Cloud KMS key and
// verifies the signature with the key's public key.
//
// With no flags it runs offline: it starts kmstest, an in-process Cloud KMS,
// on 127.0.0.1, creates an EC P-256 key there and drives the real Cloud KMS
// client against it.
//
//	go run ./examples/gcp-kms
//	go run ./examples/gcp-kms -key gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
//	go run ./examples/gcp-kms -key gcpkms://... -endpoint 127.0.0.1:8443 -insecure
//
// With -key it uses that key in Cloud KMS and Application Default
// Credentials (gcloud auth application-default login). The DSSE envelope is
// written to -out (stdout by default).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gcp-kms:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gcp-kms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "gcpkms:// key reference (default: an offline kmstest key)")
	endpoint := fs.String("endpoint", "", "Cloud KMS endpoint host:port (default: the public endpoint)")
	plaintext := fs.Bool("insecure", false, "with -endpoint: plaintext gRPC and no authentication (test servers only)")
	out := fs.String("out", "", "write the envelope to this file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	if *plaintext && *endpoint == "" {
		return errors.New("-insecure needs -endpoint")
	}
	if *endpoint != "" && *key == "" {
		return errors.New("-endpoint needs -key")
	}

	var clientOpts []option.ClientOption
	ref := *key
	if ref == "" {
		srv, err := kmstest.Start()
		if err != nil {
			return err
		}
		defer srv.Close()
		version := srv.CreateKey("projects/example/locations/global/keyRings/release", "provenance",
			kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
		ref = srv.Ref(version)
		clientOpts = srv.ClientOptions()
		fmt.Fprintf(stderr, "offline: kmstest Cloud KMS on %s\n", srv.Addr())
	} else if *endpoint != "" {
		clientOpts = append(clientOpts, option.WithEndpoint(*endpoint))
		if *plaintext {
			clientOpts = append(clientOpts, option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}

	signer, err := kms.NewSigner(ctx, ref, kms.WithClientOptions(clientOpts...))
	if err != nil {
		return err
	}
	defer signer.Close()
	fmt.Fprintf(stderr, "signing with %s (%s, key ID %s)\n", signer.Ref(), signer.Algorithm(), signer.KeyID())

	artifact := []byte("example artifact\n")
	sum := sha256.Sum256(artifact)
	statement, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "example-artifact", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate": map[string]any{
			"buildDefinition": map[string]any{"buildType": "https://example.com/gcp-kms-example/v1", "externalParameters": map[string]any{}},
			"runDetails":      map[string]any{"builder": map[string]any{"id": "https://example.com/gcp-kms-example"}},
		},
	})
	if err != nil {
		return err
	}
	env, err := sign.SignStatement(ctx, statement, signer)
	if err != nil {
		return err
	}

	// Verify with the public key fetched from KMS, as a consumer would.
	verifier, err := kms.NewVerifier(ctx, signer.Ref(), kms.WithClientOptions(clientOpts...))
	if err != nil {
		return err
	}
	if err := verifier.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "verified: signature by %s (key ID %s)\n", signer.Ref(), verifier.KeyID())

	data, err := json.Marshal(env)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(*out, data, 0o644)
}
