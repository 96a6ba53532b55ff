package cdxschema

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"
)

// TestCycloneDXSchema validates every testdata/*.cdx*.json document (the
// golden files sbom's tests write), and those in $SLSAKIT_SBOM_OUT, against cyclonedx-go's copy of the
// official CycloneDX JSON schema of its spec version.
func TestCycloneDXSchema(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locating cyclonedx-go: %v", err)
	}
	schemaDir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	docs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*.cdx*.json"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no CycloneDX documents in testdata (%v)", err)
	}
	// Documents of real builds: SLSAKIT_SBOM_OUT=dir go test ./sbom writes
	// every document its tests produce there.
	if dir := os.Getenv("SLSAKIT_SBOM_OUT"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*.cdx*.json"))
		docs = append(docs, more...)
	}
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		version := "1.6"
		if strings.Contains(string(b), `"specVersion": "1.5"`) {
			version = "1.5"
		}
		// The schema $refs spdx.schema.json and jsf-0.82.schema.json by their
		// http://cyclonedx.org/schema/ ids: preload the local copies, offline.
		sl := gojsonschema.NewSchemaLoader()
		for _, dep := range []string{"spdx.schema.json", "jsf-0.82.schemax.json"} {
			if err := sl.AddSchemas(fileLoader(schemaDir, dep)); err != nil {
				t.Fatalf("%s: %v", dep, err)
			}
		}
		schema, err := sl.Compile(fileLoader(schemaDir, "bom-"+version+".schema.json"))
		if err != nil {
			t.Fatalf("compiling the %s schema: %v", version, err)
		}
		res, err := schema.Validate(gojsonschema.NewBytesLoader(b))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if !res.Valid() {
			for _, e := range res.Errors() {
				t.Errorf("%s: %s", filepath.Base(doc), e)
			}
		}
		// Tamper: the schema check must notice a bad hash algorithm name and
		// a malformed serial number.
		for _, bad := range [][2]string{{`"alg": "SHA-256"`, `"alg": "SHA256"`}, {`"serialNumber": "urn:uuid:`, `"serialNumber": "uuid:`}} {
			mutated := strings.Replace(string(b), bad[0], bad[1], 1)
			if mutated == string(b) {
				t.Fatalf("%s: %q not found", doc, bad[0])
			}
			res, err := schema.Validate(gojsonschema.NewStringLoader(mutated))
			if err != nil || res.Valid() {
				t.Errorf("%s: schema accepted %s (err %v)", doc, bad[1], err)
			}
		}
	}
}

func fileLoader(dir, name string) gojsonschema.JSONLoader {
	return gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(filepath.Join(dir, name)))
}
