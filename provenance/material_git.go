package provenance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/slsakit/slsakit/intoto"
)

// GitMaterial describes the git checkout at dir: digest {"gitCommit": HEAD},
// URI "git+<remote>@<ref>" where remote is the "origin" remote (or the
// first remote) rewritten for publication:
//   - scp-like "git@host:org/repo.git" and ssh:// / git:// URLs become https,
//   - credentials ("user:token@"), ports of ssh URLs, query and fragment are
//     removed,
//   - a trailing ".git" is dropped;
//
// and ref is the symbolic ref of HEAD ("refs/heads/main"; omitted when HEAD
// is detached). A checkout without remotes gets no URI. The "dirty"
// annotation tells whether the working tree had changes (tracked or
// untracked, not ignored) when the material was taken. Works in linked
// worktrees. A directory that is not a checkout, or one with no commit yet,
// fails with ErrNotGitCheckout.
//
// Repositories using SHA-256 object names give a 64-digit gitCommit, which
// the in-toto digest-set spec allows but in-toto's Go Validate (v1.2.0)
// rejects, so Recorder.Statement fails on such a material.
func GitMaterial(ctx context.Context, dir string) (intoto.ResourceDescriptor, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %v", ErrGitCommand, err)
	}
	inside, err := git(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil || inside != "true" {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s", ErrNotGitCheckout, dir)
	}
	commit, err := git(ctx, dir, "rev-parse", "--verify", "-q", "HEAD^{commit}")
	if err != nil || commit == "" {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s has no commit", ErrNotGitCheckout, dir)
	}
	ref, _ := git(ctx, dir, "symbolic-ref", "-q", "HEAD") // fails when detached
	remote, err := gitRemoteURL(ctx, dir)
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	status, err := git(ctx, dir, "status", "--porcelain")
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	rd := intoto.ResourceDescriptor{
		Digest:      intoto.DigestSet{intoto.AlgGitCommit: commit},
		Annotations: map[string]any{"dirty": status != ""},
	}
	if remote != "" {
		u, err := PublicGitURL(remote)
		if err != nil {
			return intoto.ResourceDescriptor{}, err
		}
		rd.URI = "git+" + u
		if ref != "" {
			rd.URI += "@" + ref
		}
	} else if ref != "" {
		rd.Annotations["ref"] = ref
	}
	if err := rd.Digest.Validate(); err != nil {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: git printed %q", err, commit)
	}
	return rd, nil
}

func gitRemoteURL(ctx context.Context, dir string) (string, error) {
	remotes, err := git(ctx, dir, "remote")
	if err != nil {
		return "", err
	}
	if remotes == "" {
		return "", nil
	}
	name := strings.Fields(remotes)[0]
	for _, r := range strings.Fields(remotes) {
		if r == "origin" {
			name = r
		}
	}
	return git(ctx, dir, "remote", "get-url", name)
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	// core.fsmonitor names a program git would run for "status": a checkout
	// must not be able to run code through provenance recording.
	pre := []string{"-C", dir, "-c", "core.fsmonitor=false"}
	cmd := exec.CommandContext(ctx, "git", append(pre, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// stderr may echo a remote URL with credentials: keep it out.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%w: git %s: exit %d", ErrGitCommand, args[0], ee.ExitCode())
		}
		return "", fmt.Errorf("%w: git %s: %v", ErrGitCommand, args[0], err)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// PublicGitURL rewrites a git remote URL for publication in provenance:
// scp-like "user@host:path" and ssh://, git+ssh:// and git:// URLs become
// https://host/path; credentials, ssh ports, query and fragment are
// removed; a trailing ".git" or "/" is dropped. http, https and file URLs
// keep their scheme. A local path becomes a file:// URL.
func PublicGitURL(remote string) (string, error) {
	remote = strings.TrimSpace(remote)
	if remote == "" {
		return "", fmt.Errorf("%w: empty git remote", intoto.ErrInvalidDescriptor)
	}
	if !strings.Contains(remote, "://") {
		// scp-like syntax: [user@]host:path, where host has no slash.
		if i := strings.Index(remote, ":"); i > 0 && !strings.Contains(remote[:i], "/") {
			host := remote[:i]
			if at := strings.LastIndex(host, "@"); at >= 0 {
				host = host[at+1:]
			}
			remote = "ssh://" + host + "/" + strings.TrimPrefix(remote[i+1:], "/")
		} else {
			remote = "file://" + remote
		}
	}
	u, err := url.Parse(remote)
	if err != nil {
		return "", fmt.Errorf("%w: git remote is not a URL", intoto.ErrInvalidDescriptor)
	}
	switch u.Scheme {
	case "ssh", "git+ssh", "ssh+git", "git":
		u.Scheme = "https"
		u.Host = u.Hostname()
	case "http", "https", "file":
	default:
		return "", fmt.Errorf("%w: unsupported git remote scheme %q", intoto.ErrInvalidDescriptor, u.Scheme)
	}
	if u.Scheme != "file" && u.Host == "" {
		return "", fmt.Errorf("%w: git remote has no host", intoto.ErrInvalidDescriptor)
	}
	u.User = nil
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	u.RawPath = ""
	return u.String(), nil
}
