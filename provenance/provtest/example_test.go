package provtest_test

import (
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/provtest"
)

// A builder's test records with a fixed clock, then compares against a
// golden file; Normalize shows what Golden compares.
func ExampleNormalize() {
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/b@v1"}, "https://example.com/t@v1",
		provenance.WithClock(provtest.Clock()), provenance.WithInvocationID("run-81723"))
	rec.Start()
	_ = rec.SetExternalParameter("target", "release")
	_ = rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.Repeat("0", 64)}})
	rec.Finish()
	stmt, _ := rec.MarshalStatement()

	norm, _ := provtest.Normalize(stmt)
	for _, line := range strings.Split(string(norm), "\n") {
		if strings.Contains(line, "On\"") || strings.Contains(line, "invocationId") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// "finishedOn": "<time>",
	// "invocationId": "<invocation-id>",
	// "startedOn": "<time>"
}
