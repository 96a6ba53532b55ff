// Package depspin is temporary: it pins dependencies while packages land.
package depspin

import (
	_ "cloud.google.com/go/kms/apiv1"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/in-toto/attestation/go/predicates/provenance/v02"
	_ "github.com/in-toto/attestation/go/predicates/provenance/v1"
	_ "github.com/in-toto/attestation/go/v1"
	_ "github.com/secure-systems-lab/go-securesystemslib/dsse"
	_ "github.com/secure-systems-lab/go-securesystemslib/encrypted"
	_ "github.com/sigstore/sigstore-go/pkg/sign"
	_ "github.com/sigstore/sigstore-go/pkg/verify"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "google.golang.org/api/option"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/encoding/protojson"
)

import (
	_ "github.com/CycloneDX/cyclonedx-go"
	_ "github.com/google/licensecheck"
	_ "github.com/spdx/tools-golang/spdx/v2/v2_3"
	_ "github.com/spdx/tools-golang/json"
	_ "golang.org/x/mod/module"
)
