package intoto_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

// TestResourceDescriptorValidate: a descriptor validates only when a reader
// gets back what was signed: something to name it by, a digest set by the
// one table's rules, and annotations that are JSON as they are.
func TestResourceDescriptorValidate(t *testing.T) {
	h := strings.Repeat("a", 64)
	for _, rd := range []intoto.ResourceDescriptor{
		{Name: "n"},
		{URI: "https://e.com"},
		{Digest: intoto.DigestSet{"sha256": h}},
		{Name: "n", Annotations: map[string]any{"k": []string{"a"}, "n": 1, "j": json.Number("12.5e3"), "m": map[string]any{"x": []any{1.5, nil, true}}}},
	} {
		if err := rd.Validate(); err != nil {
			t.Errorf("%+v: %v", rd, err)
		}
	}
	deep := map[string]any{}
	for i, m := 0, deep; i < 100; i++ {
		next := map[string]any{}
		m["d"], m = next, next
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for name, c := range map[string]struct {
		rd   intoto.ResourceDescriptor
		want error
	}{
		"empty":             {intoto.ResourceDescriptor{}, intoto.ErrInvalidDescriptor},
		"media type only":   {intoto.ResourceDescriptor{MediaType: "text/plain"}, intoto.ErrInvalidDescriptor},
		"short digest":      {intoto.ResourceDescriptor{Name: "n", Digest: intoto.DigestSet{"sha256": "00"}}, intoto.ErrInvalidDigest},
		"look-alike digest": {intoto.ResourceDescriptor{Name: "n", Digest: intoto.DigestSet{"SHA256": h}}, intoto.ErrInvalidDigest},
		"NaN":               {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"x": math.NaN()}}, intoto.ErrInvalidDescriptor},
		"nested infinity":   {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"x": []any{math.Inf(1)}}}, intoto.ErrInvalidDescriptor},
		"bad UTF-8 value":   {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"x": "\xff"}}, intoto.ErrInvalidDescriptor},
		"bad UTF-8 key":     {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"\xff": "x"}}, intoto.ErrInvalidDescriptor},
		"json.Number NaN":   {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"x": json.Number("NaN")}}, intoto.ErrInvalidDescriptor},
		"json.Number text":  {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"x": []any{json.Number("1e")}}}, intoto.ErrInvalidDescriptor},
		"func":              {intoto.ResourceDescriptor{Name: "n", Annotations: map[string]any{"f": func() {}}}, intoto.ErrInvalidDescriptor},
		"too deep":          {intoto.ResourceDescriptor{Name: "n", Annotations: deep}, intoto.ErrInvalidDescriptor},
		"cycle":             {intoto.ResourceDescriptor{Name: "n", Annotations: cyclic}, intoto.ErrInvalidDescriptor},
	} {
		if err := c.rd.Validate(); !errors.Is(err, c.want) || !errors.Is(err, intoto.ErrInvalidDescriptor) {
			t.Errorf("%s: Validate = %v, want %v", name, err, c.want)
		}
	}
}
