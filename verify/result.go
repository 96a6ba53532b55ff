package verify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// Outcome is the result of one check.
type Outcome string

// Outcomes of a check.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Check is one check made during verification, with the values compared.
type Check struct {
	Name    string
	Outcome Outcome
	Want    string
	Got     string
	Err     error // set when Outcome is Failed
	Reason  string
}

// Result reports a verification: every check in the order made, who
// signed and when, and the statement once it was authenticated.
type Result struct {
	// Envelope is the envelope the Authenticator vouched for; when
	// authentication failed, the one the attestation presented (for the
	// report: it is not authenticated, and Statement is nil).
	Envelope *sign.Envelope
	// Statement is nil unless the attestation was authenticated and it
	// parsed.
	Statement *provenance.Statement
	// Signers are who signed, as the Authenticator verified: trusted keys
	// or certificate identities.
	Signers []Signer
	// Times are when it was signed, as verified (transparency log,
	// timestamp authorities); empty for key signatures.
	Times  []time.Time
	Checks []Check
}

// Err joins the errors of the failed checks; nil when none failed.
func (r *Result) Err() error {
	var errs []error
	for _, c := range r.Checks {
		if c.Outcome == Failed {
			errs = append(errs, c.Err)
		}
	}
	return errors.Join(errs...)
}

// Passed reports whether no check failed.
func (r *Result) Passed() bool { return r.Err() == nil }

// String renders the result for a person at a terminal, one check a line.
func (r *Result) String() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "verification: %s\n", verdict)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %-7s %-13s", c.Outcome, c.Name)
		switch c.Outcome {
		case Failed:
			fmt.Fprintf(&b, " %s", unprefixed(errors.Unwrap(c.Err)))
			if c.Want != "" || c.Got != "" {
				fmt.Fprintf(&b, " (want %s, got %s)", quoteOrNone(c.Want), quoteOrNone(c.Got))
			}
		case Skipped:
			fmt.Fprintf(&b, " %s", c.Reason)
		default:
			if c.Got != "" {
				fmt.Fprintf(&b, " %s", c.Got)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (r *Result) pass(name, want, got string) {
	r.Checks = append(r.Checks, Check{Name: name, Outcome: Passed, Want: want, Got: got})
}

func (r *Result) skip(name, reason string) {
	r.Checks = append(r.Checks, Check{Name: name, Outcome: Skipped, Reason: reason})
}

func (r *Result) fail(name, want, got string, err error) {
	ce := &CheckError{Check: name, Want: want, Got: got, Err: err}
	r.Checks = append(r.Checks, Check{Name: name, Outcome: Failed, Want: want, Got: got, Err: ce})
}
