package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzCheck is differential: whatever Check accepts, encoding/json accepts
// (json.Valid, and decoding into any both with and without UseNumber), a
// case-sensitive reader written here from RFC 8259 reads to the same
// structure, no object holds two keys that fold equal, every number is one
// all readers read alike, and Unmarshal into a struct reads exactly what
// the case-sensitive reader finds under the field names.
func FuzzCheck(f *testing.F) {
	for _, d := range accepted {
		f.Add([]byte(d))
	}
	for _, tc := range rejected {
		if len(tc.doc) < 4096 {
			f.Add([]byte(tc.doc))
		}
	}
	for _, d := range []string{
		`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`,
		`{"_type":"x","subject":[],"Subject":[{"digest":{"sha256":"cd"}}]}`,
		`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","Payload":"W10=","signatures":[{"sig":"AA=="}]}`,
		`{"predicateType":"a","predicate_type":"b"}`,
		`{"verificationResult":"FAILED","VerificationResult":"PASSED"}`,
		`{"signers":[],"Signers":[{"artifacts":"**"}]}`,
		`{"subject":"\ud83d\ude00","x":[1e308,-1e-300,0.5,9007199254740991]}`,
	} {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !(errors.Is(err, ErrInvalid) || errors.Is(err, ErrDuplicateKey) || errors.Is(err, ErrAmbiguousKey)) {
				t.Fatalf("error %v (%T) matches no sentinel", err, err)
			}
			return
		}
		// (a) encoding/json agrees it is JSON.
		if !json.Valid(data) {
			t.Fatal("Check accepts what json.Valid rejects")
		}
		// (b) encoding/json and a case-sensitive reader read one structure.
		ref, rerr := refParse(data)
		if rerr != nil {
			t.Fatalf("Check accepts what the reference reader rejects: %v", rerr)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var got any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("encoding/json (UseNumber): %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatal("encoding/json sees more after the value")
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("encoding/json reads %#v, the case-sensitive reader %#v", got, ref)
		}
		var floats any
		if err := json.Unmarshal(data, &floats); err != nil {
			t.Fatalf("encoding/json into any (float64 numbers): %v", err)
		}
		// (c) and (d): keys and numbers, walked on the reference's reading.
		if err := refAudit(ref); err != nil {
			t.Fatal(err)
		}
		// Unmarshal into a struct reads exactly the case-sensitive keys.
		var st struct {
			Type    any `json:"_type"`
			Subject any `json:"subject"`
			PT      any `json:"predicateType"`
		}
		if Unmarshal(data, &st) != nil {
			return
		}
		obj, _ := ref.(map[string]any)
		for name, v := range map[string]any{"_type": st.Type, "subject": st.Subject, "predicateType": st.PT} {
			if want := toFloats(obj[name]); !reflect.DeepEqual(v, want) {
				t.Fatalf("Unmarshal reads %s = %#v, the case-sensitive reader %#v", name, v, want)
			}
		}
	})
}

// refParse is a case-sensitive RFC 8259 reader, independent of Check and of
// encoding/json: strings decoded by hand (a lone surrogate is an error, not
// U+FFFD), numbers kept as their literal, and, unlike encoding/json, the
// first of duplicate keys kept, so a duplicate Check missed shows up as a
// difference.
func refParse(data []byte) (any, error) {
	p := &refParser{d: data}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.d) {
		return nil, fmt.Errorf("trailing data at %d", p.i)
	}
	return v, nil
}

type refParser struct {
	d []byte
	i int
}

func (p *refParser) ws() {
	for p.i < len(p.d) && strings.IndexByte(" \t\r\n", p.d[p.i]) >= 0 {
		p.i++
	}
}

func (p *refParser) value(depth int) (any, error) {
	if depth > 1000 {
		return nil, errors.New("too deep")
	}
	if p.i >= len(p.d) {
		return nil, errors.New("eof")
	}
	switch c := p.d[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		p.ws()
		if p.i < len(p.d) && p.d[p.i] == '}' {
			p.i++
			return m, nil
		}
		for {
			p.ws()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.d) || p.d[p.i] != ':' {
				return nil, errors.New("want :")
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; !dup {
				m[k] = v
			}
			p.ws()
			if p.i < len(p.d) && p.d[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.d) && p.d[p.i] == '}' {
				p.i++
				return m, nil
			}
			return nil, errors.New("want , or }")
		}
	case c == '[':
		p.i++
		a := []any{}
		p.ws()
		if p.i < len(p.d) && p.d[p.i] == ']' {
			p.i++
			return a, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.ws()
			if p.i < len(p.d) && p.d[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.d) && p.d[p.i] == ']' {
				p.i++
				return a, nil
			}
			return nil, errors.New("want , or ]")
		}
	case c == '"':
		return p.str()
	case c == 't' || c == 'f' || c == 'n':
		for lit, v := range map[string]any{"true": true, "false": false, "null": nil} {
			if bytes.HasPrefix(p.d[p.i:], []byte(lit)) {
				p.i += len(lit)
				return v, nil
			}
		}
		return nil, errors.New("bad literal")
	default:
		start := p.i
		if p.d[p.i] == '-' {
			p.i++
		}
		digits := func() int {
			n := 0
			for p.i < len(p.d) && p.d[p.i] >= '0' && p.d[p.i] <= '9' {
				p.i++
				n++
			}
			return n
		}
		if p.i < len(p.d) && p.d[p.i] == '0' {
			p.i++
		} else if digits() == 0 {
			return nil, errors.New("bad number")
		}
		if p.i < len(p.d) && p.d[p.i] == '.' {
			p.i++
			if digits() == 0 {
				return nil, errors.New("bad fraction")
			}
		}
		if p.i < len(p.d) && (p.d[p.i] == 'e' || p.d[p.i] == 'E') {
			p.i++
			if p.i < len(p.d) && (p.d[p.i] == '+' || p.d[p.i] == '-') {
				p.i++
			}
			if digits() == 0 {
				return nil, errors.New("bad exponent")
			}
		}
		return json.Number(p.d[start:p.i]), nil
	}
}

func (p *refParser) str() (string, error) {
	if p.i >= len(p.d) || p.d[p.i] != '"' {
		return "", errors.New("want string")
	}
	p.i++
	var b strings.Builder
	for {
		if p.i >= len(p.d) {
			return "", errors.New("unterminated string")
		}
		c := p.d[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", errors.New("control character")
		case c == '\\':
			if p.i+1 >= len(p.d) {
				return "", errors.New("bad escape")
			}
			e := p.d[p.i+1]
			if r, ok := map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[e]; ok {
				b.WriteRune(r)
				p.i += 2
				continue
			}
			if e != 'u' || p.i+6 > len(p.d) {
				return "", errors.New("bad escape")
			}
			u, err := strconv.ParseUint(string(p.d[p.i+2:p.i+6]), 16, 16)
			if err != nil {
				return "", err
			}
			p.i += 6
			r := rune(u)
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || p.i+6 > len(p.d) || p.d[p.i] != '\\' || p.d[p.i+1] != 'u' {
					return "", errors.New("lone surrogate")
				}
				u2, err := strconv.ParseUint(string(p.d[p.i+2:p.i+6]), 16, 16)
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, rune(u2))
				if r == utf8.RuneError {
					return "", errors.New("lone surrogate")
				}
				p.i += 6
			}
			b.WriteRune(r)
		default:
			r, n := utf8.DecodeRune(p.d[p.i:])
			if r == utf8.RuneError && n == 1 {
				return "", errors.New("invalid UTF-8")
			}
			b.Write(p.d[p.i : p.i+n])
			p.i += n
		}
	}
}

// refAudit checks, on the reference reading, what Check promises: no
// object with two keys equal under strings.EqualFold once '_' and '-' are
// dropped (encoding/json v1 matches by bytes.EqualFold; v2 also drops the
// delimiters), no NUL, and every number one that float64 readers, integer
// readers and big-number readers read alike.
func refAudit(v any) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		strip := strings.NewReplacer("_", "", "-", "")
		for i, a := range keys {
			for _, b := range keys[i+1:] {
				if strings.EqualFold(strip.Replace(a), strip.Replace(b)) {
					return fmt.Errorf("keys %q and %q fold equal", a, b)
				}
			}
			if strings.ContainsRune(a, 0) {
				return fmt.Errorf("NUL in key %q", a)
			}
		}
		for _, e := range v {
			if err := refAudit(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := refAudit(e); err != nil {
				return err
			}
		}
	case string:
		if strings.ContainsRune(v, 0) {
			return fmt.Errorf("NUL in %q", v)
		}
	case json.Number:
		return auditNumber(string(v))
	}
	return nil
}

func auditNumber(lit string) error {
	// A zero is 0 to every reader Check speaks for whatever its exponent
	// ("0E10000000000000000000": strconv, JSON.parse and Python's float
	// all read 0). big.Rat, the reference below, refuses exponents beyond
	// 1e6 for its own reasons, which are no disagreement among readers.
	if mant, _, _ := strings.Cut(strings.ToLower(lit), "e"); strings.Trim(mant, "-0.") == "" {
		switch {
		case strings.HasPrefix(lit, "-"):
			return fmt.Errorf("negative zero %s", lit)
		case len(lit) > MaxNumberLength:
			return fmt.Errorf("number %s is too long", lit)
		}
		return nil
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return fmt.Errorf("number %s: big.Rat cannot read it", lit)
	}
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case err != nil || math.IsInf(f, 0):
		return fmt.Errorf("number %s overflows float64", lit)
	case f == 0 && r.Sign() != 0:
		return fmt.Errorf("number %s underflows to 0", lit)
	case r.Sign() == 0 && strings.HasPrefix(lit, "-"):
		return fmt.Errorf("negative zero %s", lit)
	case len(lit) > MaxNumberLength:
		return fmt.Errorf("number %s is too long", lit)
	}
	if r.IsInt() {
		n := new(big.Int).Abs(r.Num())
		limit := big.NewInt(1<<53 - 1)
		// Integer syntax of any size, or any form within int64/uint64 reach.
		intSyntax := !strings.ContainsAny(lit, ".eE")
		if n.Cmp(limit) > 0 && (intSyntax || n.Cmp(new(big.Int).Lsh(big.NewInt(1), 64)) < 0) {
			return fmt.Errorf("integer %s beyond 2^53-1", lit)
		}
	}
	return nil
}

// toFloats is the reference value as encoding/json decodes into any.
func toFloats(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = toFloats(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toFloats(e)
		}
		return a
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return v
}
