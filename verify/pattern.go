package verify

import "strings"

// pattern is a compiled artifact-name or ref pattern: "*" matches any run
// of characters except "/", "**" any run at all, everything else itself.
// There are no character classes and no escapes, so a pattern can be read
// at a glance.
type pattern struct {
	src      string
	literals int // non-wildcard characters: the pattern's specificity
	m        *globMatcher
}

func compilePattern(s string) pattern {
	return pattern{src: s, literals: len(strings.ReplaceAll(s, "*", "")), m: compileGlob(s)}
}

func (p pattern) match(name string) bool {
	ok, _ := p.m.match(name)
	return ok
}

// globMatch matches name against pat in full.
func globMatch(pat, name string) bool {
	ok, _ := compileGlob(pat).match(name)
	return ok
}

// globMatcher matches names against a pattern by simulating its automaton
// on every pattern position at once, one name byte at a time, with the set
// of live positions as a bitset. The names matched come from whoever pushes
// an image or writes a provenance, so the cost must not depend on how the
// name interacts with the stars: it is at most (len(name)+1) steps of
// ⌈(tokens+1)/64⌉ words each, without recursion and without backtracking
// (a backtracking matcher is exponential in the stars:
// "*a*a*a*a*a*a*a*a" against "aaa…ab" took seconds at 81 bytes).
//
// The pattern is a sequence of tokens, a run of stars being one token ("*":
// star, "**" or more: deep). Position i means "tokens[:i] matched the name
// read so far"; position len(tokens) accepts. Reading byte c:
//   - a literal token at i moves i to i+1 when it equals c;
//   - a star token stays at i when c is not '/', a deep token always;
//   - a star or deep token also matches the empty run, so live i makes
//     i+1 live without reading anything. Two star tokens are never
//     adjacent (a run of stars is one token), so one step of this closure
//     suffices.
type globMatcher struct {
	n     int      // tokens
	words int      // bitset words: positions 0..n
	star  []uint64 // positions of "*" tokens
	deep  []uint64 // positions of "**" tokens
	// lit holds, for the k-th distinct literal byte of the pattern, the
	// positions of the literal tokens equal to it, at lit[k*words:];
	// litIndex maps a byte to 1+k, or to 0 when no literal is that byte.
	litIndex [256]uint8
	lit      []uint64
}

// compileGlob reads pat twice, to size then fill one backing array: the
// policy's ref and version patterns are compiled at each evaluation.
func compileGlob(pat string) *globMatcher {
	g := &globMatcher{}
	distinct := 0
	for i := 0; i < len(pat); g.n++ {
		if pat[i] == '*' {
			for i < len(pat) && pat[i] == '*' {
				i++
			}
			continue
		}
		if g.litIndex[pat[i]] == 0 {
			// '*' is never a literal, so at most 255 distinct literal
			// bytes: the index fits a uint8 with 0 meaning none.
			distinct++
			g.litIndex[pat[i]] = uint8(distinct)
		}
		i++
	}
	g.words = g.n/64 + 1
	buf := make([]uint64, g.words*(2+distinct))
	g.star, g.deep, g.lit = buf[:g.words], buf[g.words:2*g.words], buf[2*g.words:]
	for i, tok := 0, 0; i < len(pat); tok++ {
		w, bit := tok/64, uint64(1)<<(tok%64)
		if pat[i] != '*' {
			g.lit[(int(g.litIndex[pat[i]])-1)*g.words+w] |= bit
			i++
			continue
		}
		j := i
		for j < len(pat) && pat[j] == '*' {
			j++
		}
		if j-i > 1 {
			g.deep[w] |= bit
		} else {
			g.star[w] |= bit
		}
		i = j
	}
	return g
}

// match reports whether name matches the whole pattern, and the steps
// taken (bitset words processed), which the tests bound.
func (g *globMatcher) match(name string) (ok bool, steps int) {
	if g.words == 1 {
		return g.match1(name)
	}
	cur := make([]uint64, g.words)
	next := make([]uint64, g.words)
	cur[0] = 1
	g.closure(cur)
	for i := 0; i < len(name); i++ {
		c := name[i]
		var lit []uint64
		if k := int(g.litIndex[c]); k != 0 {
			lit = g.lit[(k-1)*g.words : k*g.words]
		}
		var carry, live uint64
		for w := range cur {
			steps++
			stay := cur[w] & g.deep[w]
			if c != '/' {
				stay |= cur[w] & g.star[w]
			}
			var adv uint64
			if lit != nil {
				adv = cur[w] & lit[w]
			}
			next[w] = stay | adv<<1 | carry
			carry = adv >> 63
			live |= next[w]
		}
		if live == 0 {
			return false, steps
		}
		cur, next = next, cur
		g.closure(cur)
	}
	return cur[g.n/64]&(1<<(g.n%64)) != 0, steps
}

// match1 is match for patterns of fewer than 64 tokens (nearly all of
// them): the same steps on one word, without allocating.
func (g *globMatcher) match1(name string) (ok bool, steps int) {
	star, deep := g.star[0], g.deep[0]
	eps := star | deep
	cur := uint64(1)
	cur |= (cur & eps) << 1
	for i := 0; i < len(name); i++ {
		c := name[i]
		steps++
		next := cur & deep
		if c != '/' {
			next |= cur & star
		}
		if k := g.litIndex[c]; k != 0 {
			next |= (cur & g.lit[k-1]) << 1
		}
		if next == 0 {
			return false, steps
		}
		cur = next | (next&eps)<<1
	}
	return cur&(1<<g.n) != 0, steps
}

// closure makes i+1 live for every live star or deep position i: a star
// may match the empty run.
func (g *globMatcher) closure(s []uint64) {
	var carry uint64
	for w := range s {
		e := s[w] & (g.star[w] | g.deep[w])
		s[w] |= e<<1 | carry
		carry = e >> 63
	}
}

// moreSpecific orders two patterns that both match a name: the one with
// more literal characters wins; between equals, the one without "**";
// then the longer source text. Ties between distinct patterns are broken by
// the text itself so the choice never depends on rule order.
func moreSpecific(a, b pattern) bool {
	if a.literals != b.literals {
		return a.literals > b.literals
	}
	ad, bd := strings.Contains(a.src, "**"), strings.Contains(b.src, "**")
	if ad != bd {
		return !ad
	}
	if len(a.src) != len(b.src) {
		return len(a.src) > len(b.src)
	}
	return a.src < b.src
}
