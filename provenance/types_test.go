package provenance

import (
	"errors"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
)

func TestDigestSet(t *testing.T) {
	a := DigestSet{AlgSHA512: hexOf('b', 128), AlgSHA256: hexOf('a', 64)}
	if got, want := a.String(), "{sha256:"+hexOf('a', 64)+" sha512:"+hexOf('b', 128)+"}"; got != want {
		t.Errorf("String %q", got)
	}
	must(t, a.Validate())
	cases := []struct {
		o    DigestSet
		want bool
	}{
		{DigestSet{AlgSHA256: hexOf('a', 64)}, true},
		{DigestSet{AlgSHA256: hexOf('a', 64), "other": "x"}, true},
		{DigestSet{AlgSHA256: hexOf('c', 64)}, false},
		{DigestSet{AlgSHA256: hexOf('a', 64), AlgSHA512: hexOf('c', 128)}, false},
		{DigestSet{"other": "x"}, false},
		{DigestSet{}, false},
	}
	for _, c := range cases {
		if got := a.Matches(c.o); got != c.want {
			t.Errorf("Matches(%v) = %v", c.o, got)
		}
	}
	for _, bad := range []DigestSet{nil, {"": "ab"}, {"x": ""}, {AlgSHA256: "xyz"}, {AlgGitCommit: hexOf('a', 50)}, {"md5": hexOf('A', 32)}} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if err := (DigestSet{"blake3": "whatever-encoding"}).Validate(); err != nil {
		t.Errorf("custom algorithm refused: %v", err)
	}
}

func TestResourceDescriptorValidate(t *testing.T) {
	good := []ResourceDescriptor{
		{Name: "n"},
		{URI: "https://e.com"},
		{Digest: DigestSet{AlgSHA256: hexOf('a', 64)}},
		{Name: "n", Content: []byte("x"), Annotations: map[string]any{"k": []string{"a"}}},
	}
	for _, rd := range good {
		must(t, rd.Validate())
	}
	bad := []struct {
		rd  ResourceDescriptor
		err error
	}{
		{ResourceDescriptor{}, ErrInvalidDescriptor},
		{ResourceDescriptor{MediaType: "text/plain"}, ErrInvalidDescriptor},
		{ResourceDescriptor{Name: "n", Digest: DigestSet{AlgSHA256: "00"}}, ErrInvalidDigest},
		{ResourceDescriptor{Name: "n", Annotations: map[string]any{"f": func() {}}}, ErrInvalidDescriptor},
	}
	for _, c := range bad {
		if err := c.rd.Validate(); !errors.Is(err, c.err) {
			t.Errorf("%+v: %v", c.rd, err)
		}
	}
	// Round trip through the proto keeps every field.
	rd := ResourceDescriptor{Name: "n", URI: "https://e.com/x", Digest: DigestSet{AlgSHA256: hexOf('a', 64)},
		MediaType: "text/plain", DownloadLocation: "https://e.com/dl", Annotations: map[string]any{"k": "v"}, Content: []byte("c")}
	p, err := toProto(rd)
	must(t, err)
	back := fromProto(p)
	if back.Name != rd.Name || back.URI != rd.URI || back.Digest.String() != rd.Digest.String() || back.MediaType != rd.MediaType ||
		back.DownloadLocation != rd.DownloadLocation || back.Annotations["k"] != "v" || string(back.Content) != "c" {
		t.Fatalf("round trip %+v", back)
	}
}

func TestMarshalStatementFunc(t *testing.T) {
	st, err := newTestRecorder(t).Statement()
	must(t, err)
	b1, err := MarshalStatement(st)
	must(t, err)
	b2, err := newTestRecorder(t).MarshalStatement()
	must(t, err)
	if string(b1) != string(b2) {
		t.Fatal("MarshalStatement differs from Recorder.MarshalStatement")
	}
	if _, err := MarshalStatement(&intoto.Statement{Type: StatementTypeV1}); err != nil {
		t.Fatalf("marshal of a partial statement: %v", err)
	}
}
