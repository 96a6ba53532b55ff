package verify_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/verify"
)

// TestSentinelsSayVerify: every sentinel this package declares, now and
// later, says where it comes from. It reads the package's source, so a
// sentinel added without the prefix fails here without anyone listing it.
// On main, ErrSignature read "signature verification failed".
func TestSentinelsSayVerify(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					call, ok := v.(*ast.CallExpr)
					if !ok || len(call.Args) != 1 {
						continue
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					lit, isLit := call.Args[0].(*ast.BasicLit)
					if !ok || sel.Sel.Name != "New" || !isLit {
						continue
					}
					msg, _ := strconv.Unquote(lit.Value)
					n++
					if !strings.HasPrefix(msg, "verify: ") {
						t.Errorf("%s: %s = %q does not start with \"verify: \"", fset.Position(lit.Pos()), vs.Names[i].Name, msg)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d sentinels: the walk is not reading the package", n)
	}
	// The typed errors say it too, and still match their sentinels.
	for _, err := range []error{
		&verify.CheckError{Check: "subject", Err: verify.ErrSubject},
		&verify.PolicyError{File: "p.yaml", Line: 3, Field: "builders", Err: errors.New("bad")},
		&verify.TimeError{Field: "finishedOn", Problem: verify.TimeMissing},
		&verify.TimeError{Field: "finishedOn", Problem: verify.TimeInFuture, Time: time.Now().Add(time.Hour), Now: time.Now(), Ahead: time.Hour},
		&verify.BudgetError{Limit: "Fetches"},
	} {
		if !strings.HasPrefix(err.Error(), "verify: ") || strings.Contains(err.Error(), "verify: verify: ") {
			t.Errorf("%T says %q", err, err)
		}
	}
	if !errors.Is(&verify.CheckError{Check: "subject", Err: verify.ErrSubject}, verify.ErrSubject) ||
		!errors.Is(&verify.PolicyError{Err: errors.New("x")}, verify.ErrPolicy) {
		t.Error("typed errors no longer match their sentinels")
	}
}
