package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// Environment of the helper process (the re-executed test binary).
const (
	envHelper    = "SLSAKIT_E2E_HELPER" // "attach" enables TestHelperProcess
	envHelperRef = "SLSAKIT_E2E_REF"
	envHelperEnv = "SLSAKIT_E2E_ENVELOPES" // JSONL file of the envelopes to attach
	envHelperLay = "SLSAKIT_E2E_LAYOUT"
	envHelperAt  = "SLSAKIT_E2E_START" // unix nanoseconds: start together
)

const (
	procs      = 8
	goroutines = 8
)

// TestConcurrentAttach: 8 OS processes x 8 goroutines attach 64 different
// attestations to one image on a real registry; all 64 are stored
// afterwards, each exactly once, in each layout.
func TestConcurrentAttach(t *testing.T) {
	reg := regproc.Start(t)
	kp := newKeyPair(t)
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		t.Run(layoutName(layout), func(t *testing.T) {
			ctx := testCtx(t, 4*time.Minute)
			img := reg.PushRandomImage(t, "concurrency/"+layoutName(layout), 256)
			dir := t.TempDir()
			want := map[string]bool{}
			for p := 0; p < procs; p++ {
				var envs []*sign.Envelope
				for g := 0; g < goroutines; g++ {
					env := kp.sign(t, statement(t, img, fmt.Sprintf("p%d-g%d", p, g)))
					want[string(env.Payload)] = true
					envs = append(envs, env)
				}
				var buf bytes.Buffer
				if err := sign.WriteJSONL(&buf, envs...); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.jsonl", p)), buf.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now().Add(time.Second).UnixNano() // all processes begin together
			cmds := make([]*exec.Cmd, procs)
			outs := make([]*bytes.Buffer, procs)
			for p := 0; p < procs; p++ {
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(),
					envHelper+"=attach",
					envHelperRef+"="+img.String(),
					envHelperEnv+"="+filepath.Join(dir, fmt.Sprintf("p%d.jsonl", p)),
					envHelperLay+"="+strconv.Itoa(int(layout)),
					envHelperAt+"="+strconv.FormatInt(start, 10),
				)
				outs[p] = &bytes.Buffer{}
				cmd.Stdout, cmd.Stderr = outs[p], outs[p]
				cmd.WaitDelay = 5 * time.Second
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds[p] = cmd
			}
			for p, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("helper process %d: %v\n%s", p, err, outs[p])
				}
			}
			if t.Failed() {
				t.FailNow()
			}
			assertExactly(t, ctx, img, layout, want)
		})
	}
}

// assertExactly checks that the attestations of img in layout are exactly
// want (payloads): through oci.List, and stored once each in the registry.
func assertExactly(t *testing.T, ctx context.Context, d name.Digest, layout oci.Layout, want map[string]bool) {
	t.Helper()
	atts, err := oci.List(ctx, d.String(), ociOpts(layout)...)
	if err != nil {
		t.Fatalf("oci.List: %v", err)
	}
	listed := map[string]int{}
	for _, a := range atts {
		listed[string(a.Envelope.Payload)]++
	}
	stored := map[string]int{}
	raw := storedEnvelopes(t, ctx, d, layout)
	for _, r := range raw {
		stored[payloadKey(t, r)]++
	}
	missing := 0
	for p := range want {
		if listed[p] == 0 {
			missing++
		}
		if stored[p] == 0 && listed[p] != 0 {
			t.Errorf("listed by oci.List but not found in the registry directly")
		}
	}
	for p, n := range stored {
		if !want[p] {
			t.Errorf("unexpected attestation stored: %.80s", p)
		}
		if n > 1 {
			t.Errorf("attestation stored %d times: %.80s", n, p)
		}
	}
	for p, n := range listed {
		if n > 1 {
			t.Errorf("oci.List returned an attestation %d times: %.80s", n, p)
		}
	}
	if missing > 0 || len(atts) != len(want) || len(raw) != len(want) {
		t.Fatalf("layout %s: %d of %d attestations missing; oci.List returned %d, registry stores %d",
			layoutName(layout), missing, len(want), len(atts), len(raw))
	}
}

// TestHelperProcess is not a test: TestConcurrentAttach re-executes the test
// binary to run it as one of several attaching OS processes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "attach" {
		return
	}
	f, err := os.Open(os.Getenv(envHelperEnv))
	if err != nil {
		t.Fatal(err)
	}
	envs, err := sign.ReadJSONL(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	layout, err := strconv.Atoi(os.Getenv(envHelperLay))
	if err != nil {
		t.Fatal(err)
	}
	startNs, err := strconv.ParseInt(os.Getenv(envHelperAt), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ref := os.Getenv(envHelperRef)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	time.Sleep(time.Until(time.Unix(0, startNs)))

	var wg sync.WaitGroup
	errs := make([]error, len(envs))
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = oci.Attach(ctx, ref, &sign.Attestation{Envelope: env}, ociOpts(oci.Layout(layout))...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("attach %d: %v", i, err)
		}
	}
}
