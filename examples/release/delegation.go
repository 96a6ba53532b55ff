package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
	"github.com/slsakit/slsakit/verify"
)

// delegation is what delegatedTrust found.
type delegation struct {
	Pattern  string // the pattern the project delegated to the kube subproject
	Admitted int    // images admitted under the delegated rule
	Refused  int    // images outside it, refused
	Revoked  int    // images admitted after the delegation was revoked
}

// delegatedTrust checks the release's images with per-subproject trust
// delegated through TUF (the Kubernetes plan). The project runs a TUF
// repository (built and served on loopback by tuftest here) whose
// top-level targets delegate the release's kube-* images to the "kube"
// subproject's role; the kube subproject publishes its signer rule (the
// release key) under that pattern. The consumer's policy (policyFile)
// trusts, for the rest of the registry, a project key that signed nothing:
// so the kube-* images pass through the delegated rule alone, every other
// image is refused, and once the project revokes the delegation (new
// targets metadata without it) the kube-* images are refused too. Each
// image is checked on linux/amd64.
func delegatedTrust(ctx context.Context, policyFile string, releasePEM []byte, images []*releaseImage, regOpts []oci.Option) (d *delegation, err error) {
	prog := &tuftest.Program{}
	defer prog.Close()
	defer func() {
		// tuftest reports a failure to build the repository by panicking
		// with a *tuftest.ProgramError: make it this function's error.
		var pe *tuftest.ProgramError
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.As(e, &pe) {
				d, err = nil, pe
				return
			}
			panic(r)
		}
	}()

	// The project's side: delegate, and let the subproject publish.
	d = &delegation{Pattern: path.Dir(images[0].repo) + "/kube-*"}
	repo := tuftest.New(prog, map[string][]byte{})
	rule, err := json.Marshal(verify.SignerRule{Artifacts: d.Pattern, Keys: []verify.KeyRef{{PEM: string(releasePEM)}}})
	if err != nil {
		return nil, err
	}
	repo.Delegate("targets", "kube", []string{d.Pattern}, false).Files[d.Pattern] = rule
	repo.Bump()

	// The consumer's side: the repository's initial root.json, and a
	// policy whose own rule trusts a key that signed none of the images.
	tufCfg := trust.TUF{Mirror: repo.URL(), Root: repo.InitialRoot(), CacheDir: prog.TempDir()}
	p, err := verify.LoadPolicyFile(policyFile)
	if err != nil {
		return nil, err
	}
	project, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		return nil, err
	}
	projectPEM, err := sign.MarshalPublicKey(project.Public())
	if err != nil {
		return nil, err
	}
	for i := range p.Signers {
		p.Signers[i].Keys = []verify.KeyRef{{PEM: string(projectPEM)}}
	}
	check := func() (admitted int, err error) {
		dt, err := trust.Delegations(ctx, tufCfg)
		if err != nil {
			return 0, err
		}
		if len(dt.Refused) > 0 {
			return 0, errors.Join(dt.Refused...)
		}
		eng, err := verify.NewEngine(ctx, p, verify.WithSigners(dt.Rules...))
		if err != nil {
			return 0, err
		}
		for _, img := range images {
			rep, err := eng.EvaluateImage(ctx, img.ref, append(regOpts[:len(regOpts):len(regOpts)], oci.WithPlatform("linux/amd64"))...)
			if rep == nil {
				return 0, err
			}
			if rep.Passed() != (rep.Rule == d.Pattern) {
				return 0, fmt.Errorf("%s: passed %v under rule %q", img.ref, rep.Passed(), rep.Rule)
			}
			if rep.Passed() {
				admitted++
			}
		}
		return admitted, nil
	}
	if d.Admitted, err = check(); err != nil {
		return nil, err
	}
	d.Refused = len(images) - d.Admitted
	repo.Undelegate("targets", "kube")
	repo.Bump()
	if d.Revoked, err = check(); err != nil {
		return nil, err
	}
	return d, nil
}
