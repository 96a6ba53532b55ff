package main

import (
	"context"
	"net"
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/hashivault"
	"github.com/slsakit/slsakit/kms/sigstorekms"
	"github.com/slsakit/slsakit/sign"
)

// The CLI's KMS keys, for --kms, --kms-key and a policy's kms keys:
//
//	gcpkms://projects/…/cryptoKeys/K[/cryptoKeyVersions/V]  GCP Cloud KMS
//	hashivault://KEY, openbao://KEY                           a Vault (OpenBao) transit key ($VAULT_ADDR, $VAULT_TOKEN)
//	NAME://KEY                                                the sigstore KMS plugin sigstore-kms-NAME on PATH
//
// as cosign reads them. A key without a version verifies with every
// enabled version (key rotation) and signs with the newest.

// kmsSigner returns the signer of the KMS key ref and a function that
// releases it.
func kmsSigner(ctx context.Context, ref, endpoint string) (sign.Signer, func(), error) {
	if strings.HasPrefix(ref, kms.Scheme) {
		s, err := kms.NewSigner(ctx, ref, kmsOptions(endpoint))
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	if isVault(ref) {
		s, err := hashivault.NewSigner(ctx, ref)
		return s, func() {}, err
	}
	s, err := sigstorekms.LoadPlugin(ctx, ref)
	return s, func() {}, err
}

func isVault(ref string) bool {
	return strings.HasPrefix(ref, hashivault.Scheme) || strings.HasPrefix(ref, hashivault.OpenBaoScheme)
}

// kmsResolver resolves KMS key references to verifiers: its type fits
// verify.KeyResolver.
func kmsResolver(endpoint string) func(ctx context.Context, ref string) (sign.Verifier, error) {
	gcp := kms.Resolver(kmsOptions(endpoint))
	return func(ctx context.Context, ref string) (sign.Verifier, error) {
		switch {
		case strings.HasPrefix(ref, kms.Scheme):
			return gcp(ctx, ref)
		case isVault(ref):
			return hashivault.NewVerifier(ctx, ref)
		}
		return sigstorekms.PluginVerifier(ctx, ref)
	}
}

// kmsOptions returns the KMS client options for an endpoint: none for the
// default (Cloud KMS with Application Default Credentials); a loopback
// endpoint is a test server, reached in plaintext without credentials.
func kmsOptions(endpoint string) kms.Option {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
		host, _, err := net.SplitHostPort(endpoint)
		if ip := net.ParseIP(host); err == nil && (host == "localhost" || ip != nil && ip.IsLoopback()) {
			opts = append(opts, option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}
	return kms.WithClientOptions(opts...)
}
