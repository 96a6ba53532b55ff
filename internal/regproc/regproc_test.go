package regproc

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestStartPushStop(t *testing.T) {
	var r *Registry
	t.Run("run", func(t *testing.T) {
		r = Start(t)
		resp, err := http.Get("http://" + r.Host() + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/v2/: %d", resp.StatusCode)
		}
		d := r.PushRandomImage(t, "regproc/test", 128)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		desc, err := remote.Head(d, remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("HEAD pushed image: %v", err)
		}
		if desc.Digest.String() != d.DigestStr() {
			t.Fatalf("registry has %s, pushed %s", desc.Digest, d.DigestStr())
		}
	})
	if r == nil {
		return // skipped
	}
	// The subtest's cleanup stopped the process: nothing listens any more.
	select {
	case <-r.done:
	default:
		t.Fatal("registry process still running after cleanup")
	}
	if c, err := net.DialTimeout("tcp", r.Host(), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after cleanup", r.Host())
	}
}

func TestToolRule(t *testing.T) {
	t.Run("unset skips outside CI", func(t *testing.T) {
		t.Setenv("CI", "")
		t.Setenv("SLSAKIT_TEST_TOOL", "")
		ft := &fakeTB{TB: t}
		runTB(func() { Tool(ft, "SLSAKIT_TEST_TOOL") })
		if !ft.skipped || ft.failed {
			t.Fatalf("skipped=%v failed=%v, want a skip", ft.skipped, ft.failed)
		}
	})
	t.Run("unset fails under CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		t.Setenv("SLSAKIT_TEST_TOOL", "")
		ft := &fakeTB{TB: t}
		runTB(func() { Tool(ft, "SLSAKIT_TEST_TOOL") })
		if !ft.failed || ft.skipped {
			t.Fatalf("skipped=%v failed=%v, want a failure", ft.skipped, ft.failed)
		}
	})
	t.Run("not executable fails", func(t *testing.T) {
		t.Setenv("SLSAKIT_TEST_TOOL", t.TempDir())
		ft := &fakeTB{TB: t}
		runTB(func() { Tool(ft, "SLSAKIT_TEST_TOOL") })
		if !ft.failed {
			t.Fatal("a directory was accepted as a tool")
		}
	})
}

// fakeTB records Skip and Fatal instead of ending the real test; both stop
// the calling function by panicking with stopNow, as Goexit would.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

type stopNow struct{}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skip(...any)           { f.skipped = true; panic(stopNow{}) }
func (f *fakeTB) Fatal(...any)          { f.failed = true; panic(stopNow{}) }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(stopNow{}) }

func runTB(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopNow); !ok {
				panic(r)
			}
		}
	}()
	fn()
}

// TestStartSecure: with WithHTPasswd and WithTLS the process serves HTTPS
// with the test CA's certificate and refuses requests without the
// password; the helpers push with the CA and the login.
func TestStartSecure(t *testing.T) {
	r := Start(t, WithHTPasswd(map[string]string{"builder": "pw-1", "reader": "pw-2"}), WithTLS())
	client := &http.Client{Transport: r.Transport(), Timeout: 10 * time.Second}
	get := func(user, pass string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://"+r.Host()+"/v2/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized}, {"builder", "wrong", http.StatusUnauthorized},
		{"builder", "pw-1", http.StatusOK}, {"reader", "pw-2", http.StatusOK},
	} {
		if got := get(c.user, c.pass); got != c.want {
			t.Errorf("%s:%s: %d, want %d", c.user, c.pass, got, c.want)
		}
	}
	// The system roots do not trust the test CA.
	if _, err := http.Get("https://" + r.Host() + "/v2/"); err == nil {
		t.Error("a client without the test CA connected")
	}
	r.PushRandomImage(t, "secure/app", 64)
}
