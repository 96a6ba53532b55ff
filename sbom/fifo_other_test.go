//go:build !unix

package sbom

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs here") }
