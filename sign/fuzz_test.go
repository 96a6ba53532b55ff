package sign_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// FuzzParseEnvelope: ParseEnvelope never panics, and any envelope it accepts
// marshals and parses back to the same value.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"payloadType":"t","payload":"aGk=","signatures":[{"keyid":"k","sig":"c2ln"}]}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[{"sig":"AA"}]}`,
		`{"payloadType":"t","payload":"-_8","signatures":[{"sig":"c2ln"},{"keyid":"","sig":"c2ln"}]}`,
		`{"payloadType":"t","PayloadType":"u","payload":"aGk=","signatures":[{"sig":"c2ln"}]}`,
		`{"payloadType":"\u003c\ud800","payload":"aGk=","signatures":[{"keyid":null,"sig":"c2ln"}]}`,
		`{"payloadType":"t","payload":"aGk=","signatures":null}`,
		`[`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := sign.ParseEnvelope(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("accepted envelope does not marshal: %v", err)
		}
		again, err := sign.ParseEnvelope(b)
		if err != nil {
			t.Fatalf("re-marshaled envelope %s does not parse: %v", b, err)
		}
		if !reflect.DeepEqual(env, again) {
			t.Fatalf("round trip changed the envelope:\n%#v\n%#v", env, again)
		}
	})
}
