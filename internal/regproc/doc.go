// Package regproc starts and stops real OCI registry processes for tests.
//
// The registry binary is the CNCF distribution registry
// (github.com/distribution/distribution/v3/cmd/registry, built by
// .ci/install-tools); its path comes from the SLSAKIT_REGISTRY_BIN
// environment variable. Start writes a configuration (filesystem storage in a
// test temporary directory, deletes enabled, HTTP on a free loopback port;
// htpasswd basic auth with WithHTPasswd and HTTPS with a certificate of a
// test CA with WithTLS), waits until /v2/ answers, and stops the process
// when the test ends.
//
// Test tools are looked up with [Tool]: when the variable naming a tool is
// unset the test is skipped, except under CI=true, where it fails, so that a
// CI run can never pass by silently skipping the real-process tests.
package regproc
