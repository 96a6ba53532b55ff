package verify

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"registry.example.com/**", "registry.example.com/a/b/c", true},
		{"registry.example.com/**", "registry.example.com/", true},
		{"registry.example.com/**", "registry.example.com", false},
		{"registry.example.com/**", "registry.example.com.evil.io/a", false},
		{"registry.example.com/*", "registry.example.com/a", true},
		{"registry.example.com/*", "registry.example.com/a/b", false},
		{"refs/tags/v*", "refs/tags/v1.2.3", true},
		{"refs/tags/v*", "refs/tags/v1/x", false},
		{"refs/heads/main", "refs/heads/main-x", false},
		{"refs/heads/main", "refs/heads/mai", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY/c", false},
		{"a**c", "aX/Y/c", true},
		{"", "", true},
		{"", "x", false},
		{"*", "", true},
	}
	for _, c := range cases {
		if got := globMatch(c.pat, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestMoreSpecific(t *testing.T) {
	a, b := compilePattern("registry.example.com/sig-storage/*"), compilePattern("registry.example.com/**")
	if !moreSpecific(a, b) || moreSpecific(b, a) {
		t.Fatal("the deeper pattern must win")
	}
	c, d := compilePattern("r/a*"), compilePattern("r/*a")
	if moreSpecific(c, d) == moreSpecific(d, c) {
		t.Fatal("ties must be broken one way")
	}
}

// globMatchRecursive is the backtracking matcher globMatch replaced, kept
// as the reference for its semantics: the new one must agree with it on
// every input (it is exponential in the stars, so only on short ones).
func globMatchRecursive(pat, name string) bool {
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
		for i := 0; i <= len(name); i++ {
			if globMatchRecursive(pat, name[i:]) {
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

// randomGlob draws a string of n bytes from alphabet.
func randomGlob(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestGlobMatchAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// A small alphabet makes matches, near misses and '/' frequent; names
	// are drawn half the time from the pattern itself with stars replaced,
	// so that most cases are not trivial mismatches.
	matches := 0
	for i := 0; i < 50000; i++ {
		pat := randomGlob(r, "ab/**", r.IntN(11))
		var name string
		if i%2 == 0 {
			name = randomGlob(r, "ab/", r.IntN(15))
		} else {
			name = strings.NewReplacer("**", randomGlob(r, "ab/", r.IntN(4)), "*", randomGlob(r, "ab/", r.IntN(3))).Replace(pat)
		}
		want := globMatchRecursive(pat, name)
		if want {
			matches++
		}
		if got := globMatch(pat, name); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, reference says %v", pat, name, got, want)
		}
		if got := compilePattern(pat).match(name); got != want {
			t.Fatalf("pattern(%q).match(%q) = %v, reference says %v", pat, name, got, want)
		}
	}
	if matches < 5000 {
		t.Fatalf("only %d of the cases match: the generator does not exercise matching", matches)
	}
}

// TestGlobMatchLongPatterns covers the multi-word bitsets (64 tokens or
// more), where a position's successor may be in the next word.
func TestGlobMatchLongPatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		// Mostly literals with a few stars, so the reference stays fast.
		pat := randomGlob(r, "aaaaaaaaab/", 60+r.IntN(80))
		for k := r.IntN(4); k > 0; k-- {
			j := r.IntN(len(pat) + 1)
			pat = pat[:j] + []string{"*", "**"}[r.IntN(2)] + pat[j:]
		}
		name := strings.NewReplacer("**", randomGlob(r, "ab/", r.IntN(4)), "*", randomGlob(r, "ab", r.IntN(3))).Replace(pat)
		if r.IntN(3) == 0 && len(name) > 0 {
			j := r.IntN(len(name))
			name = name[:j] + randomGlob(r, "ab/", 1) + name[j+1:]
		}
		if got, want := globMatch(pat, name), globMatchRecursive(pat, name); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, reference says %v", pat, name, got, want)
		}
	}
}

func FuzzGlobMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"registry.example.com/**", "registry.example.com/a/b"},
		{"refs/tags/v*", "refs/tags/v1/x"},
		{"a*b**c", "aXb/Yc"},
		{"*a*a*a*a", "aaaaaaab"},
		{"***", "/"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		// The reference is exponential in the stars: short inputs only.
		if len(pat) > 24 || len(name) > 32 || strings.Count(pat, "*") > 6 {
			t.Skip()
		}
		if got, want := globMatch(pat, name), globMatchRecursive(pat, name); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, reference says %v", pat, name, got, want)
		}
	})
}

// TestGlobMatchWorstCase: patterns that make a backtracking matcher
// exponential take, against a 4 KiB name, at most one step per name byte
// and bitset word.
func TestGlobMatchWorstCase(t *testing.T) {
	long := strings.Repeat("a", 4095) + "b"
	cases := []struct{ pat, name string }{
		{"*a*a*a*a*a*a*a*a", long},
		{"**a**a**a**a**a**a**a**a", long},
		{strings.Repeat("*a", 64) + "c", long},                  // two bitset words
		{strings.Repeat("**a", 200) + "*c", long},               // seven words
		{"*a*a*a*a*a*a*a*a", strings.Repeat("a/", 2047) + "ab"}, // '/' stops "*"
	}
	for _, c := range cases {
		g := compileGlob(c.pat)
		ok, steps := g.match(c.name)
		if ok {
			t.Errorf("%q matched", c.pat)
		}
		if bound := len(c.name) * g.words; steps > bound {
			t.Errorf("%q: %d steps, more than %d (name bytes × %d words)", c.pat, steps, bound, g.words)
		}
	}
}

// BenchmarkGlobMatchWorstCase compares the backtracking reference with the
// bitset matcher on an 8-star pattern that cannot match; the reference gets
// a 30-byte name (40 take it seconds, 81 far longer), the new matcher up to
// 4 KiB.
func BenchmarkGlobMatchWorstCase(b *testing.B) {
	const pat = "*a*a*a*a*a*a*a*a"
	short := strings.Repeat("a", 29) + "b"
	long := strings.Repeat("a", 4095) + "b"
	b.Run("recursive/30B", func(b *testing.B) {
		for b.Loop() {
			if globMatchRecursive(pat, short) {
				b.Fatal("match")
			}
		}
	})
	b.Run("bitset/30B", func(b *testing.B) {
		p := compilePattern(pat)
		for b.Loop() {
			if p.match(short) {
				b.Fatal("match")
			}
		}
	})
	b.Run("bitset/81B", func(b *testing.B) {
		p, name := compilePattern(pat), strings.Repeat("a", 80)+"b"
		for b.Loop() {
			if p.match(name) {
				b.Fatal("match")
			}
		}
	})
	b.Run("bitset/4KiB", func(b *testing.B) {
		p := compilePattern(pat)
		for b.Loop() {
			if p.match(long) {
				b.Fatal("match")
			}
		}
	})
}
