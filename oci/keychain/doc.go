// Package keychain finds registry credentials the way CI systems and
// clusters provide them, for oci.WithKeychain:
//
//   - explicit credentials for one registry ([Static]; the CLI's
//     --registry-username and --registry-password-stdin),
//   - mounted kubernetes.io/dockerconfigjson secrets ([DockerConfigJSON]),
//   - the docker config and its credential helpers, what `docker pull`
//     uses: $DOCKER_CONFIG/config.json or ~/.docker/config.json, "auths",
//     "credsStore" and "credHelpers" (docker-credential-ecr-login,
//     docker-credential-acr-env, docker-credential-gcloud, ...), then
//     Podman's auth.json ([authn.DefaultKeychain]),
//   - GitHub Container Registry from GITHUB_TOKEN ([GitHub]),
//   - Google Container Registry and Artifact Registry from application
//     default credentials or the metadata server ([Google]).
//
// [New] combines them in that order: the first source that has
// credentials for a registry answers, the rest are not asked. Explicit
// choices come first, then what docker itself would use, then what the
// environment offers, so that a `docker login` to ghcr.io or gcr.io wins
// over GITHUB_TOKEN or the VM's service account.
//
// Every source answers only for the registries it is meant for: GITHUB_TOKEN
// goes to ghcr.io only, Google tokens to gcr.io, *.gcr.io and *.pkg.dev
// only, a Static credential to its one registry. The oci package then keeps
// the credentials on that registry's origin (scheme, host and port): never
// sent along a redirect to blob storage or to an upload Location on another
// host. This package never logs, and its errors never hold a secret.
//
// ECR and ACR need no code here: their credential helpers
// (docker-credential-ecr-login, docker-credential-acr-env) are configured
// in the docker config's credHelpers, and no cloud SDK is linked in.
package keychain
