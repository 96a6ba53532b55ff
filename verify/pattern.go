package verify

import "strings"

// pattern is a compiled artifact-name or ref pattern: "*" matches any run
// of characters except "/", "**" any run at all, everything else itself.
// There are no character classes and no escapes, so a pattern can be read
// at a glance.
type pattern struct {
	src      string
	literals int // non-wildcard characters: the pattern's specificity
}

func compilePattern(s string) pattern {
	return pattern{src: s, literals: len(strings.ReplaceAll(s, "*", ""))}
}

func (p pattern) match(name string) bool { return globMatch(p.src, name) }

// globMatch matches name against pat in full.
func globMatch(pat, name string) bool {
	for len(pat) > 0 {
		if pat[0] != '*' {
			if len(name) == 0 || name[0] != pat[0] {
				return false
			}
			pat, name = pat[1:], name[1:]
			continue
		}
		deep := strings.HasPrefix(pat, "**")
		pat = strings.TrimLeft(pat, "*")
		// Try every split; names are short, and the depth of recursion is
		// bounded by the number of stars.
		for i := 0; i <= len(name); i++ {
			if globMatch(pat, name[i:]) {
				return true
			}
			if i < len(name) && name[i] == '/' && !deep {
				return false
			}
		}
		return false
	}
	return len(name) == 0
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
