package sign

import (
	"encoding/json"
	"fmt"
)

// checkEnvelopeKeys rejects object keys that are not spelled exactly as the
// DSSE spec spells them. encoding/json matches field names without regard
// to case, so {"payloadType":"a","PayloadType":"b"} would decode as "b"
// while a case-sensitive parser reads "a": two readers, two documents
// behind one signature. strictjson.Check refuses such pairs first; this
// also refuses a lone misspelling ({"PayloadType":"b"}), which
// encoding/json would read and a case-sensitive parser ignore.
func checkEnvelopeKeys(data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedEnvelope, err)
	}
	for k := range top {
		if k != "payloadType" && k != "payload" && k != "signatures" {
			return fmt.Errorf("%w: unknown field %q", ErrMalformedEnvelope, k)
		}
	}
	raw, ok := top["signatures"]
	if !ok {
		return nil
	}
	var sigs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sigs); err != nil {
		return fmt.Errorf("%w: signatures: %v", ErrMalformedEnvelope, err)
	}
	for i, s := range sigs {
		for k := range s {
			if k != "keyid" && k != "sig" {
				return fmt.Errorf("%w: signature %d: unknown field %q", ErrMalformedEnvelope, i, k)
			}
		}
	}
	return nil
}
