package sbom

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzFromReaderAt: arbitrary bytes never panic; they are a Go binary or
// ErrNotGoBinary.
func FuzzFromReaderAt(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add([]byte("MZ\x90\x00"))
	f.Add([]byte("\xcf\xfa\xed\xfe"))
	if exe, err := os.Executable(); err == nil {
		if b, err := os.ReadFile(exe); err == nil && len(b) > 8192 {
			f.Add(b[:8192])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := FromReaderAt(bytes.NewReader(data), int64(len(data)), "fuzz", WithModuleCache(""), WithLicenseScanner(nil))
		if err != nil {
			if !errors.Is(err, ErrNotGoBinary) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if _, err := s.SPDX(); err != nil {
			t.Fatal(err)
		}
	})
}
