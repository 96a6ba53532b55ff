// Package strictjson checks JSON documents before anything trusts them. A
// signature covers bytes, but what is trusted is what a reader makes of
// them: a document that two JSON readers read differently is two documents
// behind one signature. Check rejects every construct on which mainstream
// readers (encoding/json v1 and v2, protojson, a case-sensitive RFC 8259
// reader, JavaScript's JSON.parse, Python's json) are known to disagree. It
// is a hand-written single-pass byte scanner, not built on encoding/json's
// tokenizer, and rejects:
//
//   - anything that is not exactly one RFC 8259 value (trailing data, a
//     leading byte order mark, whitespace other than space, tab, CR, LF);
//   - invalid UTF-8, and \u escapes of lone or unpaired surrogates
//     (U+D800 to U+DFFF): encoding/json turns both into U+FFFD while other
//     readers reject them or keep the bytes;
//   - NUL, raw or escaped (\u0000): readers in C truncate at it;
//   - nesting deeper than MaxDepth;
//   - numbers readers disagree on (ErrUnsafeNumber): ones that overflow a
//     float64 (1e400: +Inf for some readers, an error for others), non-zero
//     ones that underflow to 0, negative zero (-0 is a float for some
//     readers, the integer 0 for others), integers outside ±(2^53-1)
//     (exact for integer readers, rounded for float readers, as I-JSON,
//     RFC 7493, warns), and literals longer than MaxNumberLength;
//   - two keys of one object that are equal after unescaping
//     (ErrDuplicateKey: "a" and "\u0061" are one key);
//   - two keys of one object that fold equal (ErrAmbiguousKey): equal
//     after dropping '_' and '-' and folding case as encoding/json folds
//     names, so "subject"/"Subject", "predicateType"/"predicate_type"
//     (protojson accepts both the JSON and the proto field name),
//     "_type"/"type" (in-toto's Statement), and the Unicode folds such as
//     U+212A KELVIN SIGN and "k", U+017F LONG S and "s".
//
// Left alone: fractions such as 0.1, which every float reader reads as the
// same nearest float64 (only a decimal reader keeps more), and escaped
// control characters other than NUL, which all these readers decode alike.
//
// The key fold is encoding/json/v2's foldName, which is encoding/json
// (v1)'s foldName with '_' and '-' also ignored, so it is stricter than
// either: two keys v1 or v2 could match to one struct field, or protojson
// to one message field, never both pass Check.
//
// Invariant after Check succeeds: in every object, no two keys fold equal.
// So when encoding/json matches an object's keys to a struct's fields case
// insensitively, at most one key can match any field, and it cannot choose
// a different key than a case-sensitive reader would. One difference is
// left: a key that matches a field only by folding (a lone "Subject" for a
// field tagged "subject") is read by encoding/json and ignored by a
// case-sensitive reader. Unmarshal closes it for the destination type: it
// rejects such keys, so what it decodes is exactly what a case-sensitive
// reader of the same field names sees.
//
// Check's errors, and Unmarshal's before it decodes, are *Error values that
// match one of the sentinels below with errors.Is and name the key path of
// the offending value or key (for example predicate.VerificationResult) and
// its byte offset; they quote at most a truncated key, never the document.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays Check accepts.
const MaxDepth = 128

// MaxNumberLength is the longest number literal Check accepts, in bytes.
// Every float64 has a decimal form of at most 24 bytes; longer literals
// carry digits that a float reader drops and a decimal reader keeps.
const MaxNumberLength = 64

// maxSafeInteger is 2^53-1, the largest integer every float64 reader reads
// exactly (RFC 7493, section 2.2).
const maxSafeInteger = "9007199254740991"

// Sentinels, matched with errors.Is. ErrTooDeep, ErrUnsafeNumber and
// ErrUnsafeString errors also match ErrInvalid; key errors do not.
var (
	// ErrInvalid reports a document that is not one well-formed JSON value
	// or that Check rejects for any reason other than its keys.
	ErrInvalid = errors.New("strictjson: invalid JSON")
	// ErrDuplicateKey reports an object with the same key twice, after
	// unescaping.
	ErrDuplicateKey = errors.New("strictjson: duplicate object key")
	// ErrAmbiguousKey reports two keys of an object that differ only in
	// case, in '_' or '-', or in Unicode case folding, which readers that
	// match names loosely take for one; from Unmarshal, also a key that
	// names a field of the destination in another spelling.
	ErrAmbiguousKey = errors.New("strictjson: ambiguous object key")
	// ErrTooDeep reports nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("strictjson: nested too deep")
	// ErrUnsafeNumber reports a number readers read differently.
	ErrUnsafeNumber = errors.New("strictjson: number readers disagree on")
	// ErrUnsafeString reports a string that is not valid UTF-8, holds a
	// lone surrogate escape, or holds NUL.
	ErrUnsafeString = errors.New("strictjson: string readers disagree on")
)

// Error is a rejection. Err is the sentinel; Path the key path of the
// value or key at fault ("" for the top-level value), with array indexes
// in brackets; Offset the byte offset in the document.
type Error struct {
	Err    error
	Path   string
	Offset int
	Detail string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	fmt.Fprintf(&b, " (byte %d)", e.Offset)
	return b.String()
}

// Unwrap returns the sentinel, and ErrInvalid for the kinds it covers.
func (e *Error) Unwrap() []error {
	switch e.Err {
	case ErrTooDeep, ErrUnsafeNumber, ErrUnsafeString:
		return []error{e.Err, ErrInvalid}
	}
	return []error{e.Err}
}

// Check reports whether data is one JSON value that every reader reads the
// same way; see the package documentation for what it rejects.
func Check(data []byte) error {
	c := newChecker(data)
	return c.run()
}

// Unmarshal checks data with Check, then decodes it into v with
// encoding/json (whose errors, such as a type mismatch, it returns as
// they are). It also rejects (ErrAmbiguousKey) any key, at any depth,
// that folds equal to a JSON field name of v's type without being spelled
// exactly like it: encoding/json would read "Subject" into a field tagged
// "subject" where a case-sensitive reader sees no subject at all. Field
// names are collected through pointers, slices, arrays, map values and
// embedded structs, and not inside types with their own UnmarshalJSON or
// UnmarshalText.
func Unmarshal(data []byte, v any) error {
	c := newChecker(data)
	c.names = fieldNames(reflect.TypeOf(v))
	if err := c.run(); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// smallObject is the number of keys up to which an object's keys are
// compared pairwise; above it they go into a map. Most objects in signed
// documents have fewer keys, so most objects cost no map.
const smallObject = 16

type frame struct {
	obj bool
	// index counts array elements, for error paths.
	index int
	// keyStart, keyEnd: the raw bytes (between the quotes) of the object's
	// current key, for error paths.
	keyStart, keyEnd int
	// keysFrom: where this object's keys start in checker.keys.
	keysFrom int
	// big maps hashes of folded keys to their index in checker.keys, once
	// the object has more than smallObject keys.
	big map[uint64]int
}

type keyEntry struct {
	fold             [2]int // span in checker.arena
	rawStart, rawEnd int    // raw span in data
}

type checker struct {
	data  []byte
	stack []frame
	keys  []keyEntry // keys of every open object, innermost last
	arena []byte     // folded keys of every open object
	tmp   []byte     // the current key, unescaped, when it had escapes
	tmp2  []byte     // an earlier key, unescaped, to tell duplicates from folds
	// seed keys the hashes of every big object's map: one per Check, made
	// when the first object grows big, so nested maps agree.
	seed   maphash.Seed
	seeded bool
	// names maps folded field names of Unmarshal's destination to their
	// exact spelling; nil for Check.
	names map[string][]string
}

func newChecker(data []byte) *checker {
	return &checker{
		data:  data,
		stack: make([]frame, 0, 16),
		keys:  make([]keyEntry, 0, 64),
		arena: make([]byte, 0, 1024),
	}
}

func (c *checker) fail(sentinel error, off int, format string, args ...any) error {
	return &Error{Err: sentinel, Path: c.path(), Offset: off, Detail: fmt.Sprintf(format, args...)}
}

func (c *checker) run() error {
	d := c.data
	if bytes.HasPrefix(d, []byte("\xef\xbb\xbf")) {
		return c.fail(ErrInvalid, 0, "leading byte order mark")
	}
	i := skipSpace(d, 0)
	if i == len(d) {
		return c.fail(ErrInvalid, i, "no value")
	}
	var err error
	for {
		// A value starts at d[i] (not space).
		if i >= len(d) {
			return c.fail(ErrInvalid, i, "unexpected end of input")
		}
		switch ch := d[i]; {
		case ch == '{' || ch == '[':
			if len(c.stack) >= MaxDepth {
				return c.fail(ErrTooDeep, i, "more than %d levels", MaxDepth)
			}
			c.stack = append(c.stack, frame{obj: ch == '{', keysFrom: len(c.keys)})
			i = skipSpace(d, i+1)
			if i < len(d) && (d[i] == '}' && ch == '{' || d[i] == ']' && ch == '[') {
				c.pop()
				i++
				break
			}
			if ch == '{' {
				if i, err = c.member(i); err != nil {
					return err
				}
			}
			continue
		case ch == '"':
			if i, err = c.str(i); err != nil {
				return err
			}
		case ch == '-' || ch >= '0' && ch <= '9':
			if i, err = c.number(i); err != nil {
				return err
			}
		case ch == 't':
			i, err = c.literal(i, "true")
		case ch == 'f':
			i, err = c.literal(i, "false")
		case ch == 'n':
			i, err = c.literal(i, "null")
		default:
			return c.fail(ErrInvalid, i, "unexpected %s", quoteByte(ch))
		}
		if err != nil {
			return err
		}
		// After a value: close containers, or move to the next element.
	next:
		for {
			i = skipSpace(d, i)
			if len(c.stack) == 0 {
				if i != len(d) {
					return c.fail(ErrInvalid, i, "data after the top-level value")
				}
				return nil
			}
			if i >= len(d) {
				return c.fail(ErrInvalid, i, "unexpected end of input")
			}
			top := &c.stack[len(c.stack)-1]
			switch {
			case d[i] == ',':
				i = skipSpace(d, i+1)
				if top.obj {
					if i, err = c.member(i); err != nil {
						return err
					}
				} else {
					top.index++
				}
				break next
			case top.obj && d[i] == '}' || !top.obj && d[i] == ']':
				c.pop()
				i++
			default:
				return c.fail(ErrInvalid, i, "unexpected %s after a value", quoteByte(d[i]))
			}
		}
	}
}

func (c *checker) pop() {
	top := &c.stack[len(c.stack)-1]
	if top.obj {
		if top.keysFrom < len(c.keys) {
			c.arena = c.arena[:c.keys[top.keysFrom].fold[0]]
		}
		c.keys = c.keys[:top.keysFrom]
	}
	c.stack = c.stack[:len(c.stack)-1]
}

// member reads `"key" :` at d[i] and leaves i at the value.
func (c *checker) member(i int) (int, error) {
	d := c.data
	if i >= len(d) || d[i] != '"' {
		if i >= len(d) {
			return i, c.fail(ErrInvalid, i, "unexpected end of input")
		}
		return i, c.fail(ErrInvalid, i, "unexpected %s where an object key belongs", quoteByte(d[i]))
	}
	end, err := c.key(i)
	if err != nil {
		return end, err
	}
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		return i, c.fail(ErrInvalid, i, "missing ':' after an object key")
	}
	return skipSpace(d, i+1), nil
}

// keyFold folds printable ASCII key bytes: lower case to upper case, '_'
// and '-' to 1 (dropped); '"', '\\', control bytes and non-ASCII to 0
// (the slow path). A string constant, so the table is read-only.
const keyFold = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x20\x21\x00\x23\x24\x25\x26\x27\x28\x29\x2a\x2b\x2c\x01\x2e\x2f" +
	"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\x3e\x3f" +
	"\x40\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f" +
	"\x50\x51\x52\x53\x54\x55\x56\x57\x58\x59\x5a\x5b\x00\x5d\x5e\x01" +
	"\x60\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f" +
	"\x50\x51\x52\x53\x54\x55\x56\x57\x58\x59\x5a\x7b\x7c\x7d\x7e\x7f" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// key reads the key string at d[i] (a '"'), folds it into the arena,
// checks it against the object's other keys and returns the offset after
// its closing quote.
func (c *checker) key(i int) (int, error) {
	d := c.data
	top := &c.stack[len(c.stack)-1]
	// Until the key is read, error paths name its object, not the key.
	top.keyStart, top.keyEnd = i+1, -1
	foldStart := len(c.arena)
	j := i + 1
	var exact []byte // the unescaped key
	for {
		if j >= len(d) {
			return j, c.fail(ErrInvalid, i, "unterminated string")
		}
		t := keyFold[d[j]]
		if t > 1 {
			c.arena = append(c.arena, t)
			j++
			continue
		}
		if t == 1 {
			j++
			continue
		}
		if d[j] == '"' {
			exact = d[i+1 : j]
			break
		}
		// Escapes, non-ASCII or a control byte: unescape, then fold.
		c.arena = c.arena[:foldStart]
		end, s, err := c.unescape(i, &c.tmp)
		if err != nil {
			return end, err
		}
		c.arena = appendFold(c.arena, s)
		exact = s
		j = end - 1
		break
	}
	top.keyEnd = j
	end := j + 1
	folded := c.arena[foldStart:]
	if c.names != nil {
		if want, ok := c.names[string(folded)]; ok && !slices.Contains(want, string(exact)) {
			return end, c.fail(ErrAmbiguousKey, i, "key %s names the field %s in another spelling", quote(exact), quote([]byte(want[0])))
		}
	}
	e := keyEntry{fold: [2]int{foldStart, len(c.arena)}, rawStart: i + 1, rawEnd: j}
	n := len(c.keys) - top.keysFrom
	switch {
	case n < smallObject:
		for k := top.keysFrom; k < len(c.keys); k++ {
			o := c.keys[k].fold
			if bytes.Equal(c.arena[o[0]:o[1]], folded) {
				return end, c.collision(k, exact, i)
			}
		}
	default:
		if top.big == nil {
			if !c.seeded {
				c.seed, c.seeded = maphash.MakeSeed(), true
			}
			top.big = make(map[uint64]int, 2*smallObject)
			for k := top.keysFrom; k < len(c.keys); k++ {
				o := c.keys[k].fold
				top.big[maphash.Bytes(c.seed, c.arena[o[0]:o[1]])] = k
			}
		}
		h := maphash.Bytes(c.seed, folded)
		if k, ok := top.big[h]; ok {
			o := c.keys[k].fold
			if bytes.Equal(c.arena[o[0]:o[1]], folded) {
				return end, c.collision(k, exact, i)
			}
			// Two folded keys with one 64-bit seeded hash: look at all.
			for k := top.keysFrom; k < len(c.keys); k++ {
				o := c.keys[k].fold
				if bytes.Equal(c.arena[o[0]:o[1]], folded) {
					return end, c.collision(k, exact, i)
				}
			}
		} else {
			top.big[h] = len(c.keys)
		}
	}
	c.keys = append(c.keys, e)
	return end, nil
}

// collision reports the key at d[at] (unescaped: exact) as a duplicate or
// an ambiguous twin of the object's key number k.
func (c *checker) collision(k int, exact []byte, at int) error {
	prev := c.rawKey(c.keys[k].rawStart, c.keys[k].rawEnd, &c.tmp2)
	if bytes.Equal(prev, exact) {
		return c.fail(ErrDuplicateKey, at, "key %s appears twice", quote(exact))
	}
	return c.fail(ErrAmbiguousKey, at, "keys %s and %s differ only in case, '_' or '-'", quote(prev), quote(exact))
}

// rawKey unescapes a key that has already been checked.
func (c *checker) rawKey(start, end int, buf *[]byte) []byte {
	raw := c.data[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	_, s, _ := c.unescape(start-1, buf)
	return s
}

// appendFold appends s folded: '_' and '-' dropped, ASCII upper-cased,
// other runes mapped to the smallest rune of their Unicode simple fold
// orbit. This is encoding/json/v2's foldName, and encoding/json's plus the
// dropped delimiters.
func appendFold(out, s []byte) []byte {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '_' || b == '-':
			case b >= 'a' && b <= 'z':
				out = append(out, b-'a'+'A')
			default:
				out = append(out, b)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's simple fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports whether any byte of the 8 in x is a control byte, '"',
// '\\' or non-ASCII: the bytes a string scan must look at one by one.
func special(x uint64) bool {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x|(q-lsb)&^q|(s-lsb)&^s|x)&msb != 0
}

// str checks the string at d[i] (a '"') and returns the offset after it.
func (c *checker) str(i int) (int, error) {
	d := c.data
	j := i + 1
	for {
		for j+8 <= len(d) && !special(binary.LittleEndian.Uint64(d[j:])) {
			j += 8
		}
		if j >= len(d) {
			return j, c.fail(ErrInvalid, i, "unterminated string")
		}
		switch b := d[j]; {
		case b == '"':
			return j + 1, nil
		case b == '\\':
			end, _, err := c.escape(j)
			if err != nil {
				return end, err
			}
			j = end
		case b < 0x20:
			return j, c.controlByte(j)
		case b >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(d[j:])
			if r == utf8.RuneError && n == 1 {
				return j, c.fail(ErrUnsafeString, j, "invalid UTF-8")
			}
			j += n
		default:
			j++
		}
	}
}

func (c *checker) controlByte(j int) error {
	if c.data[j] == 0 {
		return c.fail(ErrUnsafeString, j, "NUL byte in a string")
	}
	return c.fail(ErrInvalid, j, "control byte %s in a string", quoteByte(c.data[j]))
}

// unescape checks the string at d[i] (a '"') and returns the offset after
// it and its unescaped bytes (in *buf).
func (c *checker) unescape(i int, buf *[]byte) (int, []byte, error) {
	d := c.data
	out := (*buf)[:0]
	defer func() { *buf = out[:0] }()
	j := i + 1
	for {
		if j >= len(d) {
			return j, nil, c.fail(ErrInvalid, i, "unterminated string")
		}
		switch b := d[j]; {
		case b == '"':
			return j + 1, out, nil
		case b == '\\':
			end, r, err := c.escape(j)
			if err != nil {
				return end, nil, err
			}
			out = utf8.AppendRune(out, r)
			j = end
		case b < 0x20:
			return j, nil, c.controlByte(j)
		case b >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(d[j:])
			if r == utf8.RuneError && n == 1 {
				return j, nil, c.fail(ErrUnsafeString, j, "invalid UTF-8")
			}
			out = append(out, d[j:j+n]...)
			j += n
		default:
			out = append(out, b)
			j++
		}
	}
}

// escape checks the escape sequence at d[j] (a '\\') and returns the
// offset after it and the rune it stands for.
func (c *checker) escape(j int) (int, rune, error) {
	d := c.data
	if j+1 >= len(d) {
		return j, 0, c.fail(ErrInvalid, j, "unterminated string")
	}
	switch d[j+1] {
	case '"':
		return j + 2, '"', nil
	case '\\':
		return j + 2, '\\', nil
	case '/':
		return j + 2, '/', nil
	case 'b':
		return j + 2, '\b', nil
	case 'f':
		return j + 2, '\f', nil
	case 'n':
		return j + 2, '\n', nil
	case 'r':
		return j + 2, '\r', nil
	case 't':
		return j + 2, '\t', nil
	case 'u':
	default:
		return j, 0, c.fail(ErrInvalid, j, "invalid escape %s", quote(d[j:j+2]))
	}
	r, ok := hex4(d, j+2)
	if !ok {
		return j, 0, c.fail(ErrInvalid, j, "invalid \\u escape")
	}
	switch {
	case r == 0:
		return j, 0, c.fail(ErrUnsafeString, j, "escaped NUL (\\u0000)")
	case r >= 0xdc00 && r <= 0xdfff:
		return j, 0, c.fail(ErrUnsafeString, j, "lone low surrogate \\u%04x", r)
	case r >= 0xd800 && r <= 0xdbff:
		lo, ok := rune(0), j+11 < len(d) && d[j+6] == '\\' && d[j+7] == 'u'
		if ok {
			lo, ok = hex4(d, j+8)
		}
		if !ok || lo < 0xdc00 || lo > 0xdfff {
			return j, 0, c.fail(ErrUnsafeString, j, "high surrogate \\u%04x not followed by a low surrogate", r)
		}
		return j + 12, utf16Decode(r, lo), nil
	}
	return j + 6, r, nil
}

func utf16Decode(hi, lo rune) rune { return (hi-0xd800)<<10 | (lo - 0xdc00) + 0x10000 }

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, b := range d[i : i+4] {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b -= 'a' - 10
		case b >= 'A' && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(b)
	}
	return r, true
}

func (c *checker) literal(i int, lit string) (int, error) {
	if !bytes.HasPrefix(c.data[i:], []byte(lit)) {
		return i, c.fail(ErrInvalid, i, "invalid literal (want %s)", lit)
	}
	return i + len(lit), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// number checks the number at d[i] and returns the offset after it.
func (c *checker) number(i int) (int, error) {
	d := c.data
	start := i
	neg := d[i] == '-'
	if neg {
		i++
	}
	if i >= len(d) || !isDigit(d[i]) {
		return i, c.fail(ErrInvalid, start, "invalid number")
	}
	intStart := i
	if d[i] == '0' {
		i++
	} else {
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(d) && d[i] == '.' {
		i++
		fracStart = i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		if i == fracStart {
			return i, c.fail(ErrInvalid, start, "invalid number")
		}
		fracEnd = i
	}
	exp, hasExp := 0, false
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		hasExp = true
		i++
		eneg := false
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			eneg = d[i] == '-'
			i++
		}
		es := i
		for i < len(d) && isDigit(d[i]) {
			if exp < 1_000_000 { // far beyond any float64; stop before int overflow
				exp = exp*10 + int(d[i]-'0')
			}
			i++
		}
		if i == es {
			return i, c.fail(ErrInvalid, start, "invalid number")
		}
		if eneg {
			exp = -exp
		}
	}
	lit := d[start:i]
	if len(lit) > MaxNumberLength {
		return i, c.fail(ErrUnsafeNumber, start, "%d-byte number literal (limit %d)", len(lit), MaxNumberLength)
	}
	if intEnd-intStart == 1 && fracStart == fracEnd && !hasExp {
		// One digit: the common case of small integers.
		if neg && d[intStart] == '0' {
			return i, c.fail(ErrUnsafeNumber, start, "negative zero %s", lit)
		}
		return i, nil
	}
	n := decimal{intPart: d[intStart:intEnd], frac: d[fracStart:fracEnd], exp: exp}
	lead, sig, p := n.digits()
	switch {
	case sig == 0 && neg:
		return i, c.fail(ErrUnsafeNumber, start, "negative zero %s", lit)
	case sig == 0:
	case fracStart == fracEnd && !hasExp && intEnd-intStart > len(maxSafeInteger),
		p >= 0 && sig+p >= len(maxSafeInteger) && sig+p <= 20 && n.beyondSafe(lead, sig, p):
		// Integer readers (protojson's int64 fields read 9.007199254740993e15
		// too) keep it exactly, float readers round it; a big-integer reader
		// keeps any integer literal.
		return i, c.fail(ErrUnsafeNumber, start, "integer %s beyond ±(2^53-1) is rounded by float64 readers", lit)
	case hasExp:
		// The decimal exponent of the first significant digit decides
		// whether a float64 can hold the number at all.
		mag := exp + intEnd - intStart - 1
		if d[intStart] == '0' {
			mag = exp - (lead - (intEnd - intStart) + 1)
		}
		if mag > -300 && mag < 300 {
			break
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil || f == 0 {
			return i, c.fail(ErrUnsafeNumber, start, "%s overflows or underflows a float64", lit)
		}
	}
	return i, nil
}

// decimal is a number literal's digits: intPart.frac × 10^exp.
type decimal struct {
	intPart, frac []byte
	exp           int
}

func (n decimal) digit(k int) byte {
	if k < len(n.intPart) {
		return n.intPart[k]
	}
	return n.frac[k-len(n.intPart)]
}

// digits returns the count of leading zeros of intPart+frac, of its
// significant digits (0 for zero) and the power of ten of its last
// significant digit.
func (n decimal) digits() (lead, sig, p int) {
	all := len(n.intPart) + len(n.frac)
	for lead < all && n.digit(lead) == '0' {
		lead++
	}
	if lead == all {
		return lead, 0, 0
	}
	trail := 0
	for n.digit(all-1-trail) == '0' {
		trail++
	}
	return lead, all - lead - trail, n.exp - len(n.frac) + trail
}

// beyondSafe reports whether the integer of sig significant digits from
// lead followed by p zeros is more than 2^53-1.
func (n decimal) beyondSafe(lead, sig, p int) bool {
	if sig+p != len(maxSafeInteger) {
		return sig+p > len(maxSafeInteger)
	}
	for k := 0; k < len(maxSafeInteger); k++ {
		b := byte('0')
		if k < sig {
			b = n.digit(lead + k)
		}
		if b != maxSafeInteger[k] {
			return b > maxSafeInteger[k]
		}
	}
	return false
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// path renders the key path of the innermost value: keys joined by '.',
// array indexes in brackets, keys that are not plain names quoted. Deep
// paths keep their ends: errors stay short whatever the document.
func (c *checker) path() string {
	var segs []string
	var buf []byte
	for _, f := range c.stack {
		if !f.obj {
			segs = append(segs, "["+strconv.Itoa(f.index)+"]")
			continue
		}
		if f.keyEnd < f.keyStart {
			continue // no key yet, or the key itself is at fault
		}
		k := c.data[f.keyStart:f.keyEnd]
		if bytes.IndexByte(k, '\\') >= 0 {
			if _, s, err := c.unescapeQuiet(f.keyStart-1, &buf); err == nil {
				k = s
			}
		}
		if plainName(k) {
			segs = append(segs, "."+string(k))
		} else {
			segs = append(segs, "["+quote(k)+"]")
		}
	}
	const keep = 6
	if len(segs) > 2*keep {
		segs = append(append(segs[:keep:keep], "…"), segs[len(segs)-keep:]...)
	}
	return strings.TrimPrefix(strings.Join(segs, ""), ".")
}

// unescapeQuiet is unescape for error paths: it must not recurse into
// path().
func (c *checker) unescapeQuiet(i int, buf *[]byte) (int, []byte, error) {
	saved := c.stack
	c.stack = nil
	defer func() { c.stack = saved }()
	return c.unescape(i, buf)
}

func plainName(k []byte) bool {
	if len(k) == 0 || len(k) > maxQuoted {
		return false
	}
	for _, b := range k {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '$' || b == '@') {
			return false
		}
	}
	return true
}

// maxQuoted bounds a key quoted in an error: errors name keys, never
// carry the document.
const maxQuoted = 64

func quote(b []byte) string {
	if len(b) > maxQuoted {
		n := maxQuoted
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		return strconv.Quote(string(b[:n])) + "…"
	}
	return strconv.Quote(string(b))
}

func quoteByte(b byte) string {
	if b >= 0x20 && b < 0x7f {
		return strconv.QuoteRune(rune(b))
	}
	return fmt.Sprintf("byte 0x%02x", b)
}

// fieldNames returns the JSON names of the struct fields reachable from t,
// folded, each mapped to its exact spellings (two structs may spell one
// folded name two ways; each spelling is exact for its own field).
func fieldNames(t reflect.Type) map[string][]string {
	jsonU := reflect.TypeFor[json.Unmarshaler]()
	textU := reflect.TypeFor[encoding.TextUnmarshaler]()
	names := map[string][]string{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t != nil && !seen[t] {
			seen[t] = true
			// encoding/json hands these the raw value: their own names
			// are not matched by folding.
			if t.Implements(jsonU) || reflect.PointerTo(t).Implements(jsonU) ||
				t.Implements(textU) || reflect.PointerTo(t).Implements(textU) {
				return
			}
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
				continue
			case reflect.Struct:
				for i := range t.NumField() {
					f := t.Field(i)
					tag := f.Tag.Get("json")
					if tag == "-" {
						continue
					}
					name, _, _ := strings.Cut(tag, ",")
					if f.Anonymous && name == "" {
						walk(f.Type)
						continue
					}
					if !f.IsExported() {
						continue
					}
					if name == "" {
						name = f.Name
					}
					k := string(appendFold(nil, []byte(name)))
					if !slices.Contains(names[k], name) {
						names[k] = append(names[k], name)
					}
					walk(f.Type)
				}
			}
			return
		}
	}
	walk(t)
	return names
}

// CaseVariant returns a key of m that differs from one of fields in case
// only, and that field. Check lets a lone "Subject" through (it has no
// twin in its object), but encoding/json would read it as "subject" while
// exact readers see no subject: a reader of a known schema refuses it.
func CaseVariant[V any](m map[string]V, fields ...string) (key, field string, found bool) {
	for k := range m {
		for _, f := range fields {
			if k != f && strings.EqualFold(k, f) {
				return k, f, true
			}
		}
	}
	return "", "", false
}
