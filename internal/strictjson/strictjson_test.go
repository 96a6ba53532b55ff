package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
)

// accepted are documents every reader reads alike: Check must not get in
// the way of ordinary signed documents.
var accepted = []string{
	`{}`, `[]`, `0`, `-1`, `1.5`, `-1.5e-3`, `1E+2`, `"x"`, `true`, `false`, `null`,
	" \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
	`{"a":{"a":{"a":1}}}`, // one key name at several depths
	`[{"a":1},{"a":2}]`,   // and in sibling objects
	`{"subject":[],"predicateType":"x","predicate":{"subject":1}}`,
	`{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, // every escape; a valid surrogate pair
	`{"é":1,"e":2}`,       // not fold-equal
	`{"k":1,"k\u0301":2}`, // k and k + combining acute: different keys
	`{"ß":1,"ss":2}`,      // full case folding would equate these; simple folding (encoding/json's) does not
	"{\"\u00e9\":\"\U0001F600\"}",
	`9007199254740991`, `-9007199254740991`, `9007199254740990.0`, `9.007199254740991e15`, // 2^53-1
	`0.1`, `1.7976931348623157e308`, `5e-324`, `2.2250738585072014e-308`,
	`1e300`, `123456789.123456789`, `0e999999`, `0.0`, `0E-5`, `0E10000000000000000000`, // a zero is 0 whatever its exponent
	`{"\u0041":1,"b":2}`, // escaped key, no collision
	"\"\u007f\"",         // DEL is not a JSON control character
	`{"` + strings.Repeat("a", 10000) + `":1}`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
}

func TestCheckAccepts(t *testing.T) {
	for _, doc := range accepted {
		if err := Check([]byte(doc)); err != nil {
			t.Errorf("Check(%.60q) = %v, want nil", doc, err)
		}
		if !json.Valid([]byte(doc)) {
			t.Errorf("test case %.60q is not valid JSON", doc)
		}
	}
}

// manyKeys is an object of n distinct keys followed by extra ones: it
// drives objects past smallObject into the map path.
func manyKeys(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		b.WriteString(`"key` + strings.Repeat("x", i) + `":1,`)
	}
	b.WriteString(extra + "}")
	return b.String()
}

// rejected lists one document for each construct two readers read
// differently, with the sentinel and key path Check must report. The
// "new" ones were accepted by the encoding/json-tokenizer checker this
// package had before (main at 0a75f45); the others must stay rejected.
var rejected = []struct {
	name, doc string
	want      error
	path      string
	new       bool
}{
	// Keys equal after unescaping.
	{"duplicate", `{"a":1,"a":2}`, ErrDuplicateKey, "a", false},
	{"escaped duplicate", `{"a":1,"\u0061":2}`, ErrDuplicateKey, "a", false},
	{"escaped duplicate both", `{"\u0061b":1,"a\u0062":2}`, ErrDuplicateKey, "ab", false},
	{"nested duplicate", `{"p":{"x":[{"d":{"s":1,"s":2}}]}}`, ErrDuplicateKey, "p.x[0].d.s", false},
	{"duplicate in big object", manyKeys(40, `"key":2`), ErrDuplicateKey, "key", false},
	{"duplicate in big object after a big inner one", manyKeys(40, `"in":`+manyKeys(20, `"z":1`)+`,"keyxx":2`), ErrDuplicateKey, "keyxx", false},

	// Keys encoding/json (or protojson) takes for one field.
	{"case", `{"subject":[],"Subject":[]}`, ErrAmbiguousKey, "Subject", true},
	{"case nested", `{"predicate":{"verificationResult":"FAILED","VerificationResult":"PASSED"}}`, ErrAmbiguousKey, "predicate.VerificationResult", true},
	{"all caps", `{"payload":"","PAYLOAD":""}`, ErrAmbiguousKey, "PAYLOAD", true},
	{"kelvin sign", "{\"kind\":1,\"\u212Aind\":2}", ErrAmbiguousKey, "[\"\u212aind\"]", true},
	{"kelvin escaped", `{"Kind":1,"\u212aind":2}`, ErrAmbiguousKey, "[\"\u212aind\"]", true},
	{"long s", "{\"sig\":1,\"\u017Fig\":2}", ErrAmbiguousKey, "[\"\u017fig\"]", true},
	{"non-ASCII case", `{"é":1,"É":2}`, ErrAmbiguousKey, `["É"]`, true},
	{"protojson proto name", `{"predicateType":"a","predicate_type":"b"}`, ErrAmbiguousKey, "predicate_type", true},
	{"protojson _type", `{"_type":"https://in-toto.io/Statement/v1","type":"x"}`, ErrAmbiguousKey, "type", true},
	{"dash", `{"bom-ref":1,"bomref":2}`, ErrAmbiguousKey, "bomref", true},
	{"escaped case", `{"a":1,"\u0041":2}`, ErrAmbiguousKey, "A", true},
	{"case in big object", manyKeys(40, `"KEY":2`), ErrAmbiguousKey, "KEY", true},
	{"case in big object after a big inner one", manyKeys(40, `"in":`+manyKeys(20, `"z":1`)+`,"KEYX":2`), ErrAmbiguousKey, "KEYX", true},
	{"case in array", `[{"x":1},{"x":1,"X":2}]`, ErrAmbiguousKey, "[1].X", true},

	// Strings readers decode differently.
	{"invalid UTF-8", "{\"a\":\"\xff\"}", ErrUnsafeString, "a", false},
	{"invalid UTF-8 key", "{\"\xc3\":1}", ErrUnsafeString, "", false},
	{"overlong UTF-8", "\"\xc0\xaf\"", ErrUnsafeString, "", false},
	{"UTF-8 surrogate", "\"\xed\xa0\x80\"", ErrUnsafeString, "", false},
	{"lone high surrogate", `{"a":"\ud800"}`, ErrUnsafeString, "a", true},
	{"lone low surrogate", `{"a":"\udc00x"}`, ErrUnsafeString, "a", true},
	{"high then non-surrogate", `"\ud800\u0041"`, ErrUnsafeString, "", true},
	{"high then high", `"\ud800\ud800"`, ErrUnsafeString, "", true},
	{"swapped pair", `"\ude00\ud83d"`, ErrUnsafeString, "", true},
	{"lone surrogate key", `{"\ud800":1}`, ErrUnsafeString, "", true},
	{"lone surrogate keys collide in Go", `{"\ud800":1,"\udbff":2}`, ErrUnsafeString, "", false},
	{"escaped NUL", `{"name":"a\u0000b"}`, ErrUnsafeString, "name", true},
	{"escaped NUL key", `{"a\u0000":1}`, ErrUnsafeString, "", true},
	{"raw NUL", "\"a\x00b\"", ErrUnsafeString, "", false},
	{"raw control", "\"a\x01b\"", ErrInvalid, "", false},
	{"raw newline", "\"a\nb\"", ErrInvalid, "", false},

	// Numbers readers disagree on.
	{"overflow", `{"n":1e400}`, ErrUnsafeNumber, "n", true},
	{"negative overflow", `-1.5E+309`, ErrUnsafeNumber, "", true},
	{"underflow", `{"n":1e-400}`, ErrUnsafeNumber, "n", true},
	{"underflow fraction", `0.000001e-330`, ErrUnsafeNumber, "", true},
	{"negative zero", `{"n":-0}`, ErrUnsafeNumber, "n", true},
	{"negative zero fraction", `-0.0`, ErrUnsafeNumber, "", true},
	{"negative zero exponent", `-0e10`, ErrUnsafeNumber, "", true},
	{"2^53", `9007199254740992`, ErrUnsafeNumber, "", true},
	{"2^53+1", `[9007199254740993]`, ErrUnsafeNumber, "[0]", true},
	{"negative 2^53", `-9007199254740992`, ErrUnsafeNumber, "", true},
	{"big integer", `123456789012345678901234567890`, ErrUnsafeNumber, "", true},
	{"integer as fraction", `9007199254740993.0`, ErrUnsafeNumber, "", true},
	{"integer as exponent", `9.007199254740993e15`, ErrUnsafeNumber, "", true},
	{"integer as exponent 2", `90071992547409930e-1`, ErrUnsafeNumber, "", true},
	{"long number", `0.` + strings.Repeat("1", MaxNumberLength), ErrUnsafeNumber, "", true},
	{"leading zero", `01`, ErrInvalid, "", false},
	{"bare fraction", `1.`, ErrInvalid, "", false},
	{"bare exponent", `1e`, ErrInvalid, "", false},
	{"plus", `+1`, ErrInvalid, "", false},
	{"hex", `0x10`, ErrInvalid, "", false},
	{"NaN", `NaN`, ErrInvalid, "", false},
	{"Infinity", `-Infinity`, ErrInvalid, "", false},

	// Not exactly one value.
	{"empty", ``, ErrInvalid, "", false},
	{"space only", ` `, ErrInvalid, "", false},
	{"BOM", "\xef\xbb\xbf{}", ErrInvalid, "", false},
	{"trailing value", `{} {}`, ErrInvalid, "", false},
	{"trailing garbage", `{}x`, ErrInvalid, "", false},
	{"trailing NUL", "{}\x00", ErrInvalid, "", false},
	{"trailing comma", `[1,]`, ErrInvalid, "", false},
	{"object trailing comma", `{"a":1,}`, ErrInvalid, "", false},
	{"comment", `{"a":1 /* x */}`, ErrInvalid, "", false},
	{"single quotes", `{'a':1}`, ErrInvalid, "", false},
	{"unquoted key", `{a:1}`, ErrInvalid, "", false},
	{"missing colon", `{"a" 1}`, ErrInvalid, "", false},
	{"missing value", `{"a":}`, ErrInvalid, "", false},
	{"unterminated", `{"a":[1,2`, ErrInvalid, "", false},
	{"unterminated string", `"abc`, ErrInvalid, "", false},
	{"unterminated escape", `"\`, ErrInvalid, "", false},
	{"short unicode escape", `"\u12"`, ErrInvalid, "", false},
	{"bad escape", `"\x41"`, ErrInvalid, "", false},
	{"mismatched", `[}`, ErrInvalid, "", false},
	{"bad literal", `tru`, ErrInvalid, "", false},
	{"vertical tab", "\v{}", ErrInvalid, "", false},
	{"non-breaking space", "\u00a0{}", ErrInvalid, "", false},
	{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), ErrTooDeep, "", false},
}

func TestCheckRejects(t *testing.T) {
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.doc))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check(%.80q) = %v, want %v", tc.doc, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if tc.path != "" && e.Path != tc.path {
				t.Errorf("path %q, want %q (error: %v)", e.Path, tc.path, err)
			}
			// Key errors are not ErrInvalid; everything else is.
			keyErr := tc.want == ErrDuplicateKey || tc.want == ErrAmbiguousKey
			if errors.Is(err, ErrInvalid) == keyErr {
				t.Errorf("errors.Is(err, ErrInvalid) = %v for %v", !keyErr, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long: it must name the key, not quote the document", len(err.Error()))
			}
		})
	}
}

// TestErrorsDoNotQuoteTheDocument: an attacker-sized key or value shows up
// in an error truncated.
func TestErrorsDoNotQuoteTheDocument(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	for _, doc := range []string{
		`{"` + long + `":1,"` + long + `":2}`,
		`{"` + long + `":{"a":-0}}`,
		`{"` + long + `":"\ud800"}`,
	} {
		err := Check([]byte(doc))
		if err == nil {
			t.Fatal("accepted")
		}
		if len(err.Error()) > 400 {
			t.Errorf("error is %d bytes", len(err.Error()))
		}
	}
}

// TestFoldMatchesEncodingJSON: every pair of keys encoding/json would match
// to one struct field (bytes.EqualFold, its definition) is a pair Check
// rejects, over all of Unicode's simple fold orbits of single runes, the
// cases behind KELVIN SIGN and LONG S.
func TestFoldMatchesEncodingJSON(t *testing.T) {
	for r := rune(0x20); r <= 0x1ffff; r++ {
		if r >= 0xd800 && r <= 0xdfff || r == '"' || r == '\\' {
			continue
		}
		for s := unicode.SimpleFold(r); s != r; s = unicode.SimpleFold(s) {
			doc := `{"` + string(r) + `":1,"` + string(s) + `":2}`
			if err := Check([]byte(doc)); !errors.Is(err, ErrAmbiguousKey) {
				t.Fatalf("U+%04X and U+%04X: Check = %v, want ErrAmbiguousKey", r, s, err)
			}
		}
	}
	// And the ASCII fast path folds like the slow one.
	for b := 0x20; b < 0x80; b++ {
		want := appendFold(nil, []byte{byte(b)})
		switch got := keyFold[b]; {
		case b == '"' || b == '\\':
			if got != 0 {
				t.Errorf("keyFold[%q] = %d, want the slow path", b, got)
			}
		case got == 1:
			if len(want) != 0 {
				t.Errorf("keyFold drops %q, appendFold keeps it", b)
			}
		case len(want) != 1 || want[0] != got:
			t.Errorf("keyFold[%q] = %q, appendFold gives %q", b, got, want)
		}
	}
}

// TestUnmarshal: with Check's invariant, a struct decode reads the key a
// case-sensitive reader reads; Unmarshal also refuses the key that only
// encoding/json's folding would read.
func TestUnmarshal(t *testing.T) {
	type pol struct {
		Digest map[string]string `json:"digest"`
	}
	type vsa struct {
		Result string `json:"verificationResult"`
		Policy *pol   `json:"policy"`
		Embedded
		Skip   string `json:"-"`
		hidden string
	}
	ok := []string{
		`{"verificationResult":"PASSED","policy":{"digest":{"sha256":"ab"}}}`,
		`{"verificationResult":"PASSED","other":{"anything":1},"Inner":"x"}`,
		`{"Skip":"is not a field","hidden":"nor this"}`,
	}
	for _, doc := range ok {
		var v vsa
		if err := Unmarshal([]byte(doc), &v); err != nil {
			t.Errorf("Unmarshal(%s) = %v", doc, err)
		}
	}
	bad := []struct{ doc, path string }{
		{`{"VerificationResult":"PASSED"}`, "VerificationResult"},
		{`{"verification_result":"PASSED"}`, "verification_result"},
		{`{"verificationResult":"x","Policy":{}}`, "Policy"},
		{`{"policy":{"Digest":{}}}`, "policy.Digest"},
		{`{"inner":"x"}`, "inner"},
		{"{\"policy\":{\"dige\u017ft\":{}}}", "policy[\"dige\u017ft\"]"},
	}
	for _, tc := range bad {
		var v vsa
		err := Unmarshal([]byte(tc.doc), &v)
		if !errors.Is(err, ErrAmbiguousKey) {
			t.Errorf("Unmarshal(%s) = %v, want ErrAmbiguousKey", tc.doc, err)
			continue
		}
		var e *Error
		if errors.As(err, &e) && tc.path != "" && e.Path != tc.path {
			t.Errorf("Unmarshal(%s): path %q, want %q", tc.doc, e.Path, tc.path)
		}
	}
	// Check's own rejections come first.
	var v vsa
	if err := Unmarshal([]byte(`{"verificationResult":"FAILED","VerificationResult":"PASSED"}`), &v); !errors.Is(err, ErrAmbiguousKey) || v.Result != "" {
		t.Errorf("Unmarshal = %v, result %q: want ErrAmbiguousKey and nothing decoded", err, v.Result)
	}
}

type Embedded struct {
	Inner string
}
