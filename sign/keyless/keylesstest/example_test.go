package keylesstest_test

import (
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func ExampleStart() {
	svc, err := keylesstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	fmt.Println(strings.HasPrefix(svc.FulcioURL(), "http://127.0.0.1:"))
	root, err := svc.TrustedRootJSON()
	fmt.Println(len(root) > 0, err)
	// Output:
	// true
	// true <nil>
}
