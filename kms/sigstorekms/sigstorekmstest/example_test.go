package sigstorekmstest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/slsakit/slsakit/kms/sigstorekms"
	"github.com/slsakit/slsakit/kms/sigstorekms/sigstorekmstest"
	"github.com/slsakit/slsakit/sign"
)

func TestMain(m *testing.M) {
	sigstorekmstest.Main()
	os.Exit(m.Run())
}

// Main returns at once in a process that is not running as the plugin.
func ExampleMain() {
	sigstorekmstest.Main()
	fmt.Println("not started as sigstore-kms-*: Main returned")
	// Output: not started as sigstore-kms-*: Main returned
}

func TestInstall(t *testing.T) {
	sigstorekmstest.Install(t, "kittest")
	ref, pub := sigstorekmstest.NewKey(t, "kittest")
	s, err := sigstorekms.LoadPlugin(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := sign.PublicKeyID(s.Public())
	want, _ := sign.PublicKeyID(pub)
	if got != want {
		t.Fatalf("the plugin reports key %s, NewKey made %s", got, want)
	}
}
