package intoto

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// ErrInvalidDescriptor is wrapped by errors about resource descriptors
// that do not validate.
var ErrInvalidDescriptor = errors.New("intoto: invalid resource descriptor")

// ResourceDescriptor is the in-toto v1 ResourceDescriptor: what a
// statement is about (its subjects) and what a build used or made
// (materials, byproducts). At least one of Name, URI and Digest is set.
// provenance records descriptors, sbom names them as subjects, and verify
// checks artifacts against them.
type ResourceDescriptor struct {
	Name             string
	URI              string
	Digest           DigestSet
	MediaType        string
	DownloadLocation string
	// Annotations are free-form and must be JSON-representable.
	Annotations map[string]any
	Content     []byte
}

// Validate checks the descriptor as the in-toto specification does (one
// of name, URI or digest), the digest set by this package's rules
// (DigestSet.Validate), and that the annotations are JSON a reader gets
// back unchanged: no NaN or infinities, no string that is not UTF-8. A
// failure wraps ErrInvalidDescriptor, and ErrInvalidDigest for the digest.
func (rd ResourceDescriptor) Validate() error {
	if rd.Name == "" && rd.URI == "" && len(rd.Digest) == 0 {
		return fmt.Errorf("%w: one of name, uri or digest is required", ErrInvalidDescriptor)
	}
	if len(rd.Digest) > 0 {
		if err := rd.Digest.Validate(); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrInvalidDescriptor, rd.String(), err)
		}
	}
	for k, v := range rd.Annotations {
		if err := checkJSONValue(v, 0); err != nil {
			return fmt.Errorf("%w: %q: annotation %q: %w", ErrInvalidDescriptor, rd.String(), k, err)
		}
		if !utf8.ValidString(k) {
			return fmt.Errorf("%w: %q: annotation key %q is not UTF-8", ErrInvalidDescriptor, rd.String(), k)
		}
	}
	return nil
}

// String names the descriptor in messages: its name, else its URI, else
// its digest set.
func (rd ResourceDescriptor) String() string {
	switch {
	case rd.Name != "":
		return rd.Name
	case rd.URI != "":
		return rd.URI
	}
	return rd.Digest.String()
}

// maxJSONDepth bounds checkJSONValue's recursion, as strictjson bounds
// what it reads.
const maxJSONDepth = 64

// checkJSONValue reports whether v encodes as JSON that decodes to the
// same value: encoding/json refuses NaN and infinities but silently
// replaces invalid UTF-8, which would sign another value than the caller
// holds.
func checkJSONValue(v any, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("nested too deeply")
	}
	switch x := v.(type) {
	case nil, bool:
		return nil
	case string:
		if !utf8.ValidString(x) {
			return errors.New("string is not UTF-8")
		}
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v is not a JSON number", x)
		}
		return nil
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				return errors.New("key is not UTF-8")
			}
			if err := checkJSONValue(e, depth+1); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := checkJSONValue(e, depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	// Other Go values (ints, json.Number, structs, typed maps) go through
	// encoding/json, which refuses a json.Number that is not a number; what
	// it writes is checked again. (Invalid UTF-8 inside a struct field is
	// replaced by encoding/json before this sees it; producers that write
	// such values check them too: provenance's Recorder refuses them.)
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	return checkJSONValue(generic, depth+1)
}
