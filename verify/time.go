package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/slsakit/slsakit/provenance"
)

// ClockSkew is how far past the verifier's clock a time may lie and still
// be taken as "now": builders, verifiers, transparency logs and timestamp
// authorities keep their own clocks, which disagree by seconds and, on a
// bad day, minutes. A time later than that is refused wherever a check
// relies on it: a time in the future would make an age rule hold for
// longer than it says, up to forever.
const ClockSkew = 5 * time.Minute

// ErrTime: a time a check relies on is missing, later than the clock plus
// ClockSkew, or contradicts another time of the same document (startedOn
// after finishedOn). The error is a *TimeError, which says which.
var ErrTime = errors.New("verify: time not usable")

// TimeProblem is what is wrong with a time.
type TimeProblem int

// Problems of a time.
const (
	// TimeMissing: no time, the zero time, or 1970-01-01T00:00:00Z (the
	// zero of Unix and protobuf time, which writers emit for "unset").
	TimeMissing TimeProblem = iota + 1
	// TimeInFuture: later than the clock plus ClockSkew.
	TimeInFuture
	// TimeOutOfOrder: after a time it must precede (startedOn after
	// finishedOn).
	TimeOutOfOrder
)

// TimeError says why a time cannot be relied on. It matches ErrTime.
type TimeError struct {
	// Field names the time, e.g. "finishedOn", "timeVerified" or "Tlog
	// integrated time".
	Field   string
	Problem TimeProblem
	// Time is the time found (zero when missing).
	Time time.Time
	// Now is the clock reading it was judged against.
	Now time.Time
	// Ahead is how far Time lies past Now, for TimeInFuture.
	Ahead time.Duration
	// Before names the time that Time should not follow, and Limit is its
	// value, for TimeOutOfOrder.
	Before string
	Limit  time.Time
}

func (e *TimeError) Error() string { return "verify: " + e.problem() }

func (e *TimeError) problem() string {
	switch e.Problem {
	case TimeMissing:
		if isUnixZero(e.Time) {
			return fmt.Sprintf("%s is %s, the zero of Unix time, which means unset: a check that relies on it needs a known time", e.Field, stamp(e.Time))
		}
		return e.Field + " missing: a check that relies on it needs a known time"
	case TimeInFuture:
		return fmt.Sprintf("%s %s is %s in the future (clock %s, allowed skew %s)", e.Field, stamp(e.Time), e.Ahead, stamp(e.Now), ClockSkew)
	case TimeOutOfOrder:
		return fmt.Sprintf("%s %s is after %s %s", e.Field, stamp(e.Time), e.Before, stamp(e.Limit))
	}
	return e.Field + ": unusable time"
}

// Unwrap returns ErrTime.
func (e *TimeError) Unwrap() error { return ErrTime }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func isUnixZero(t time.Time) bool { return t.Unix() == 0 && t.Nanosecond() == 0 }

// known reports whether t is a time rather than a writer's "unset".
func known(t time.Time) bool { return !t.IsZero() && !isUnixZero(t) }

// CheckTime judges a time that a check relies on against the clock
// reading now: it must be known (not zero, not 1970-01-01T00:00:00Z) and
// not later than now + ClockSkew. It returns nil or a *TimeError. field
// names the time in the error.
func CheckTime(field string, t, now time.Time) error {
	if err := checkTime(field, t, now); err != nil {
		return err
	}
	return nil // not a typed nil in the interface
}

func checkTime(field string, t, now time.Time) *TimeError {
	if !known(t) {
		return &TimeError{Field: field, Problem: TimeMissing, Time: t, Now: now}
	}
	if ahead := t.Sub(now); ahead > ClockSkew {
		return &TimeError{Field: field, Problem: TimeInFuture, Time: t, Now: now, Ahead: ahead}
	}
	return nil
}

// age is how long before now t was, never negative: a time within
// ClockSkew ahead of the clock is taken as now.
func age(t, now time.Time) time.Duration {
	if d := now.Sub(t); d > 0 {
		return d
	}
	return 0
}

// buildTimes checks the times of a provenance that an age rule relies on:
// finishedOn (required: the age is measured from it; startedOn only bounds
// it from below and says nothing about whether the build finished), and
// startedOn when present, which must not be in the future nor after
// finishedOn (a provenance that contradicts itself about time cannot be
// trusted about time).
func buildTimes(pv *provenance.Provenance, now time.Time) *TimeError {
	if err := checkTime("finishedOn", pv.FinishedOn, now); err != nil {
		return err
	}
	if !known(pv.StartedOn) {
		return nil
	}
	if err := checkTime("startedOn", pv.StartedOn, now); err != nil {
		return err
	}
	if pv.StartedOn.After(pv.FinishedOn) {
		return &TimeError{Field: "startedOn", Problem: TimeOutOfOrder, Time: pv.StartedOn, Now: now, Before: "finishedOn", Limit: pv.FinishedOn}
	}
	return nil
}

// checkAge applies the policy's maxAge to a provenance, on the engine's
// clock.
func (e *Engine) checkAge(r *Result, pv *provenance.Provenance) {
	maxAge := time.Duration(e.p.MaxAge)
	want := maxAge.String()
	now := e.now()
	if te := buildTimes(pv, now); te != nil {
		got := "no finishedOn"
		switch te.Problem {
		case TimeInFuture:
			got = te.Field + " " + te.Ahead.Round(time.Second).String() + " in the future"
		case TimeOutOfOrder:
			got = "startedOn after finishedOn"
		}
		r.fail("maxAge", want, got, te)
		return
	}
	a := age(pv.FinishedOn, now)
	if a > maxAge {
		r.fail("maxAge", want, a.Round(time.Second).String(), ErrTooOld)
		return
	}
	r.pass("maxAge", want, a.Round(time.Second).String())
}
