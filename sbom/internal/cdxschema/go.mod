// Module cdxschema validates the CycloneDX documents in ../../testdata
// against the JSON schemas cyclonedx-go ships. It is a separate module so
// that the JSON schema library stays out of slsakit's go.mod. Run:
//
//	cd sbom/internal/cdxschema && GOFLAGS=-mod=mod go test
module github.com/slsakit/slsakit/sbom/internal/cdxschema

go 1.25.8

require (
	github.com/CycloneDX/cyclonedx-go v0.12.0
	github.com/xeipuuv/gojsonschema v1.2.0
)

require (
	github.com/xeipuuv/gojsonpointer v0.0.0-20180127040702-4e3ac2762d5f // indirect
	github.com/xeipuuv/gojsonreference v0.0.0-20180127040603-bd5ef7bd5415 // indirect
)
