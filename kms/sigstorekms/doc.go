// Package sigstorekms plugs any sigstore signature.SignerVerifier into
// slsakit's sign.Signer seam: AWS KMS, Azure Key Vault, HashiCorp Vault,
// GCP KMS and sigstore-kms-* CLI plugins, loaded with sigstore's
// kms.Get(ctx, "awskms://...", crypto.SHA256), as well as sigstore's
// in-memory signers.
//
//	sv, err := kms.Get(ctx, "awskms:///arn:aws:kms:us-east-1:123456789012:key/...", crypto.SHA256)
//	signer, err := sigstorekms.New(ctx, sv)
//	env, err := sign.SignStatement(ctx, statement, signer)
//
// This package imports only sigstore's pkg/signature and
// pkg/signature/options: no cloud SDK. The provider you use is linked by
// your own blank import of its module (for example
// github.com/sigstore/sigstore/pkg/signature/kms/aws) or runs as a plugin
// program.
//
// KMS plugin programs (sigstore's cliplugin protocol, what cosign runs for
// a key reference it has no provider for) are loaded by reference:
// "NAME://KEY" runs sigstore-kms-NAME from PATH.
//
//	signer, err := sigstorekms.LoadPlugin(ctx, "my-hsm://slot-3/release")
//	verifier, err := sigstorekms.PluginVerifier(ctx, "my-hsm://slot-3/release")
//
// Package sigstorekmstest installs a test binary as such a plugin.
package sigstorekms
