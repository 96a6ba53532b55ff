package keyless_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyWeight: the keyless packages cost sigstore-go's tree but no
// cloud SDK, and the test kit adds no server module (Fulcio, the timestamp
// authority) to the build.
func TestDependencyWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}",
		"github.com/slsakit/slsakit/sign/keyless", "github.com/slsakit/slsakit/sign/keyless/keylesstest",
		"github.com/slsakit/slsakit/verify/keyless").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	mods := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		mods[m] = true
	}
	if !mods["github.com/sigstore/sigstore-go"] {
		t.Fatal("the check is blind: sigstore-go is not listed")
	}
	for m := range mods {
		for _, heavy := range []string{"cloud.google.com/go", "github.com/sigstore/fulcio", "github.com/prometheus/", "github.com/spf13/viper"} {
			if strings.HasPrefix(m, heavy) {
				t.Errorf("the keyless packages compile %s", m)
			}
		}
	}
	t.Logf("%d modules", len(mods))
}
