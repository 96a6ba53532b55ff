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
	// lit[c-th distinct byte] is the positions of literal tokens equal to
	// that byte; litIndex maps a byte to 1+its index in lit, or 0 when the
	// pattern has no such literal.
	litIndex [256]uint8
	lit      [][]uint64
}

func compileGlob(pat string) *globMatcher {
	type token struct {
		kind byte // 'l' literal, 's' star, 'd' deep
		c    byte
	}
	var toks []token
	for i := 0; i < len(pat); {
		if pat[i] != '*' {
			toks = append(toks, token{'l', pat[i]})
			i++
			continue
		}
		j := i
		for j < len(pat) && pat[j] == '*' {
			j++
		}
		kind := byte('s')
		if j-i > 1 {
			kind = 'd'
		}
		toks = append(toks, token{kind: kind})
		i = j
	}
	g := &globMatcher{n: len(toks), words: len(toks)/64 + 1}
	g.star = make([]uint64, g.words)
	g.deep = make([]uint64, g.words)
	for i, t := range toks {
		w, bit := i/64, uint64(1)<<(i%64)
		switch t.kind {
		case 's':
			g.star[w] |= bit
		case 'd':
			g.deep[w] |= bit
		default:
			// '*' is never a literal, so at most 255 distinct literal
			// bytes: the index fits a uint8 with 0 meaning none.
			if g.litIndex[t.c] == 0 {
				g.lit = append(g.lit, make([]uint64, g.words))
				g.litIndex[t.c] = uint8(len(g.lit))
			}
			g.lit[g.litIndex[t.c]-1][w] |= bit
		}
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
		if k := g.litIndex[c]; k != 0 {
			lit = g.lit[k-1]
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
			next |= (cur & g.lit[k-1][0]) << 1
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
