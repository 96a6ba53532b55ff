package sbom_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slsakit/slsakit/sbom"
)

// The SBOM of a Go binary: here the running test binary itself.
func ExampleFromBinary() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sbom.FromBinary(exe, sbom.WithCreated(time.Unix(0, 0)))
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, err := s.SPDX()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Main.Path)
	fmt.Println(strings.HasPrefix(s.Stdlib.PURL(), "pkg:golang/stdlib@1."))
	fmt.Println(sbom.ValidateSPDX(doc))
	// Output:
	// github.com/slsakit/slsakit
	// true
	// <nil>
}

// A non-Go file is reported with a typed error.
func ExampleFromBinary_notGo() {
	f, err := os.CreateTemp("", "notgo")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	f.WriteString("#!/bin/sh\necho hello\n")
	f.Close()
	_, err = sbom.FromBinary(f.Name())
	fmt.Println(errors.Is(err, sbom.ErrNotGoBinary))
	// Output: true
}

// Package URLs follow the purl specification for the golang type.
func ExampleModule_PURL() {
	fmt.Println(sbom.Module{Path: "github.com/docker/cli", Version: "v29.7.2+incompatible"}.PURL())
	fmt.Println(sbom.Module{Path: "github.com/BurntSushi/toml", Version: "v1.4.0"}.DownloadLocation())
	// Output:
	// pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible
	// https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.4.0.zip
}

// An SBOM as an in-toto statement, ready for sign.SignStatement.
func ExampleSBOM_SPDXStatement() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sbom.FromBinary(exe, sbom.WithModuleCache(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := s.SPDXStatement()
	if err != nil {
		fmt.Println(err)
		return
	}
	var v struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(st, &v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Type)
	fmt.Println(v.PredicateType)
	fmt.Println(v.Subject[0].Digest["sha256"] == s.Root.SHA256)
	// Output:
	// https://in-toto.io/Statement/v1
	// https://spdx.dev/Document
	// true
}

// The SBOM of what `go build ./cmd/app` would build, with the module graph,
// as CycloneDX 1.6 (not run: it needs a module on disk).
func ExampleFromSource() {
	ctx := context.Background()
	s, err := sbom.FromSource(ctx, "/path/to/module", []string{"./cmd/app"},
		sbom.WithEnv("GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"),
		sbom.WithBuildFlags("-trimpath", "-tags=netgo"),
		sbom.WithMainVersion("v1.2.3"))
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, err := s.CycloneDX()
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(doc)
}
