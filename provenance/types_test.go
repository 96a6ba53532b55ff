package provenance

import (
	"errors"
	"testing"

	itpb "github.com/in-toto/attestation/go/v1"

	"github.com/slsakit/slsakit/intoto"
)

func TestDigestSet(t *testing.T) {
	a := intoto.DigestSet{intoto.AlgSHA512: hexOf('b', 128), intoto.AlgSHA256: hexOf('a', 64)}
	if got, want := a.String(), "{sha256:"+hexOf('a', 64)+" sha512:"+hexOf('b', 128)+"}"; got != want {
		t.Errorf("String %q", got)
	}
	must(t, a.Validate())
	cases := []struct {
		o    intoto.DigestSet
		want bool
	}{
		{intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}, true},
		{intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64), "other": "x"}, true},
		{intoto.DigestSet{intoto.AlgSHA256: hexOf('c', 64)}, false},
		{intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64), intoto.AlgSHA512: hexOf('c', 128)}, false},
		{intoto.DigestSet{"other": "x"}, false},
		{intoto.DigestSet{}, false},
	}
	for _, c := range cases {
		if got := a.Matches(c.o); got != c.want {
			t.Errorf("Matches(%v) = %v", c.o, got)
		}
	}
	for _, bad := range []intoto.DigestSet{nil, {"": "ab"}, {"x": ""}, {intoto.AlgSHA256: "xyz"}, {intoto.AlgGitCommit: hexOf('a', 50)}, {"md5": hexOf('A', 32)}} {
		if err := bad.Validate(); !errors.Is(err, intoto.ErrInvalidDigest) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if err := (intoto.DigestSet{"blake3": "whatever-encoding"}).Validate(); err != nil {
		t.Errorf("custom algorithm refused: %v", err)
	}
}

func TestResourceDescriptorValidate(t *testing.T) {
	good := []intoto.ResourceDescriptor{
		{Name: "n"},
		{URI: "https://e.com"},
		{Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}},
		{Name: "n", Content: []byte("x"), Annotations: map[string]any{"k": []string{"a"}}},
	}
	for _, rd := range good {
		must(t, rd.Validate())
	}
	bad := []struct {
		rd  intoto.ResourceDescriptor
		err error
	}{
		{intoto.ResourceDescriptor{}, intoto.ErrInvalidDescriptor},
		{intoto.ResourceDescriptor{MediaType: "text/plain"}, intoto.ErrInvalidDescriptor},
		{intoto.ResourceDescriptor{Name: "n", Digest: intoto.DigestSet{intoto.AlgSHA256: "00"}}, intoto.ErrInvalidDigest},
		{intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"f": func() {}}}, intoto.ErrInvalidDescriptor},
	}
	for _, c := range bad {
		if err := c.rd.Validate(); !errors.Is(err, c.err) {
			t.Errorf("%+v: %v", c.rd, err)
		}
	}
	// Round trip through the proto keeps every field.
	rd := intoto.ResourceDescriptor{Name: "n", URI: "https://e.com/x", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)},
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
	st, err := newTestRecorder(t).statement()
	must(t, err)
	b1, err := marshalStatement(st)
	must(t, err)
	b2, err := newTestRecorder(t).MarshalStatement()
	must(t, err)
	if string(b1) != string(b2) {
		t.Fatal("MarshalStatement differs from Recorder.MarshalStatement")
	}
	if _, err := marshalStatement(&itpb.Statement{Type: intoto.StatementTypeV1}); err != nil {
		t.Fatalf("marshal of a partial statement: %v", err)
	}
}
