// Package platform reads what a CI platform says about the build it runs
// (builder, build type, invocation, source repository, ref and commit,
// trigger) and fills a provenance.Recorder with it, so a builder does not
// type those facts by hand.
//
//	facts, err := platform.Collect(ctx, platform.OSEnv(), platform.DefaultPlatforms()...)
//	if err != nil { ... } // ErrPlatformMissing, ErrPlatformMismatch, ErrInvalidFact
//	rec, err := facts.NewRecorder()
//
// # Platforms
//
// One interface, Platform (Name, Detect, Collect), with one small type per
// platform: GitHubActions, GitLabCI, CloudBuild, Tekton, Buildkite,
// Jenkins, and Generic (explicit values only). A builder on another
// platform implements Platform and passes it to Detect or Collect with
// the others; there is no registry. DefaultPlatforms returns a fresh list.
//
// Everything is read through an Env (environment variables and files):
// tests pass a MapEnv of fixtures, the CLI passes OSEnv(). Each platform
// reads only the variables and files its platform documents; which ones is
// said on its type.
//
// # Build types
//
// Where a platform has a standard build type it is used, so existing
// verifiers read the result: the SLSA GitHub Actions workflow type (as
// slsa-github-generator emits it) for create, release, push and
// workflow_dispatch events, Cloud Build's google-worker type, and Tekton
// Chains' type. Other platforms, and GitHub events the standard type
// forbids (pull requests), get slsakit build types whose
// externalParameters.source holds {repository, ref}.
//
// # What is refused
//
// Collect refuses, rather than guess, when the platform's markers are
// absent (ErrPlatformMissing), when they contradict each other
// (ErrPlatformMismatch: GITHUB_REF is not the event's ref, the workflow is
// in another repository, a tag and a branch pipeline at once, the markers
// of two platforms at once) and when a value is malformed (ErrInvalidFact:
// a commit that is not 40 or 64 lowercase hex digits, a ref git would not
// accept, a URL with credentials). Errors are *FactError values naming the
// platform and variable.
//
// # What the facts are worth
//
// The facts are what the job's environment says. A step of the job can
// change its own environment, so provenance built from them is only as
// trustworthy as every step that ran before it; it carries the platform's
// word, not a proof. Sign it with an identity the platform vouches for
// (keyless signing with the job's OIDC token) and check that identity in
// the policy. Facts that a policy needs to refuse a build are recorded as
// what they are: a pull request from a fork has "fork": true and its head
// repository, a pushed tag without a release is a "push" to refs/tags/...
package platform
