// Package strictjson checks JSON documents before anything trusts them:
// well-formed, one value, no duplicate object keys at any depth, valid UTF-8,
// and a bounded nesting depth. Duplicate keys matter for signed payloads:
// two parsers that keep different duplicates see two different documents
// behind one signature.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting Check accepts.
const MaxDepth = 128

// ErrDuplicateKey reports an object with the same key twice.
var ErrDuplicateKey = errors.New("duplicate JSON object key")

// ErrInvalid reports a document that is not one well-formed JSON value.
var ErrInvalid = errors.New("invalid JSON")

// Check reports whether data is one well-formed JSON value with no duplicate
// object keys, valid UTF-8 and nesting no deeper than MaxDepth.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := value(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the top-level value", ErrInvalid)
	}
	return nil
}

func value(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= MaxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
	}
	switch d {
	case '{':
		seen := make(map[string]struct{})
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			k, ok := kt.(string)
			if !ok {
				return fmt.Errorf("%w: object key is not a string", ErrInvalid)
			}
			if _, dup := seen[k]; dup {
				return fmt.Errorf("%w: %q", ErrDuplicateKey, k)
			}
			seen[k] = struct{}{}
			if err := value(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := value(dec, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: unexpected %q", ErrInvalid, d)
	}
	if _, err := dec.Token(); err != nil { // closing delimiter
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
