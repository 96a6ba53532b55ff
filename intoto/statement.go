package intoto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// The in-toto Statement types (_type) slsakit reads. It writes v1.
const (
	StatementTypeV1  = "https://in-toto.io/Statement/v1"
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
)

// ErrInvalidStatement is returned for a payload signed or attached as an
// in-toto Statement that is not one. The error wraps it with the reason.
var ErrInvalidStatement = errors.New("intoto: not an in-toto statement")

// CheckStatement reports whether statement is an in-toto Statement that a
// verifier can read (sign.SignStatement signs nothing else, and oci.Attach
// attaches nothing else): one strict JSON object (internal/strictjson: valid
// UTF-8, no duplicate keys, bounded depth, nothing after it) whose _type is
// Statement v1 or v0.1, whose subject is a non-empty array of descriptors
// each with a non-empty digest set of non-empty strings, whose
// predicateType is a non-empty string and whose predicate, if present, is
// an object. Keys that differ from these field names only in case are
// refused too: readers that match names case-insensitively
// (encoding/json) would see another document than exact ones. It does not
// read the predicate or check digest encodings: that is the predicate's
// and the verifier's business. Errors wrap ErrInvalidStatement.
func CheckStatement(statement []byte) error {
	if len(bytes.TrimSpace(statement)) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidStatement)
	}
	if err := strictjson.Check(statement); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidStatement, err)
	}
	top, err := exactObject(statement, "statement", "_type", "subject", "predicateType", "predicate")
	if err != nil {
		return err
	}
	var typ string
	if err := json.Unmarshal(top["_type"], &typ); err != nil {
		return fmt.Errorf("%w: _type is missing or not a string", ErrInvalidStatement)
	}
	if typ != StatementTypeV1 && typ != StatementTypeV01 {
		return fmt.Errorf("%w: _type %q is not an in-toto Statement type", ErrInvalidStatement, typ)
	}
	// One decoding of the whole array: statements (SBOMs) can list
	// thousands of subjects.
	var subjects []map[string]json.RawMessage
	if err := json.Unmarshal(top["subject"], &subjects); err != nil || len(subjects) == 0 {
		return fmt.Errorf("%w: subject is missing, empty or not an array of objects", ErrInvalidStatement)
	}
	for i, sub := range subjects {
		if sub == nil {
			return fmt.Errorf("%w: subject[%d] is not a JSON object", ErrInvalidStatement, i)
		}
		if err := caseVariants(sub, fmt.Sprintf("subject[%d]", i), "name", "uri", "digest"); err != nil {
			return err
		}
		var digest map[string]*string
		if err := json.Unmarshal(sub["digest"], &digest); err != nil || len(digest) == 0 {
			return fmt.Errorf("%w: subject[%d] has no digest set (an object of strings)", ErrInvalidStatement, i)
		}
		for alg, v := range digest {
			if alg == "" || v == nil || *v == "" {
				return fmt.Errorf("%w: subject[%d] digest %q is empty", ErrInvalidStatement, i, alg)
			}
		}
	}
	var pt *string
	if err := json.Unmarshal(top["predicateType"], &pt); err != nil || pt == nil || *pt == "" {
		return fmt.Errorf("%w: predicateType is missing, empty or not a string", ErrInvalidStatement)
	}
	if raw, ok := top["predicate"]; ok {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(raw, &p); err != nil || p == nil {
			return fmt.Errorf("%w: predicate is not an object", ErrInvalidStatement)
		}
	}
	return nil
}

// exactObject decodes a JSON object, refusing keys that are a case
// variant of one of fields.
func exactObject(raw json.RawMessage, what string, fields ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrInvalidStatement, what)
	}
	return m, caseVariants(m, what, fields...)
}

// caseVariants refuses keys of m that differ from one of fields in case
// only.
func caseVariants(m map[string]json.RawMessage, what string, fields ...string) error {
	if k, f, ok := strictjson.CaseVariant(m, fields...); ok {
		return fmt.Errorf("%w: %s has key %q, a case variant of %q", ErrInvalidStatement, what, k, f)
	}
	return nil
}
