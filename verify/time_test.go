package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// withTimes rewrites the metadata times of a provenance statement as a
// builder could sign them: a value sets the field verbatim, absent
// removes it.
const absent = "<absent>"

func withTimes(t *testing.T, stmt []byte, startedOn, finishedOn string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(stmt, &m); err != nil {
		t.Fatal(err)
	}
	md := m["predicate"].(map[string]any)["runDetails"].(map[string]any)["metadata"].(map[string]any)
	for k, v := range map[string]string{"startedOn": startedOn, "finishedOn": finishedOn} {
		if v == absent {
			delete(md, k)
		} else {
			md[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// An age rule needs a known finishedOn no later than the clock plus
// ClockSkew, and a startedOn (when given) that is neither in the future
// nor after finishedOn. On main a future finishedOn passed (a negative age
// is under any maxAge), a missing one fell back to startedOn, and startedOn
// after finishedOn was not looked at.
func TestMaxAgeTimes(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	pol := func(extra string) *verify.Policy {
		p, err := verify.ParsePolicy([]byte("version: 1\n" + extra + "signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hourAgo := rfc(now.Add(-time.Hour))
	cases := []struct {
		name              string
		started, finished string
		noAgeRule         bool
		want              error // nil: passes
		problem           verify.TimeProblem
		field             string
		ahead             time.Duration
	}{
		{name: "an hour ago", started: rfc(now.Add(-2 * time.Hour)), finished: hourAgo},
		{name: "within the clock skew ahead", started: hourAgo, finished: rfc(now.Add(verify.ClockSkew))},
		{name: "just past the clock skew", started: hourAgo, finished: rfc(now.Add(verify.ClockSkew + time.Second)), want: verify.ErrTime, problem: verify.TimeInFuture, field: "finishedOn", ahead: verify.ClockSkew + time.Second},
		{name: "an hour in the future", started: hourAgo, finished: rfc(now.Add(time.Hour)), want: verify.ErrTime, problem: verify.TimeInFuture, field: "finishedOn", ahead: time.Hour},
		{name: "year 9999", started: hourAgo, finished: "9999-12-31T23:59:59Z", want: verify.ErrTime, problem: verify.TimeInFuture, field: "finishedOn"},
		{name: "future behind a zone offset that reads like the past", started: hourAgo, finished: "2026-11-03T11:00:00-05:00", want: verify.ErrTime, problem: verify.TimeInFuture, field: "finishedOn", ahead: 4 * time.Hour},
		{name: "past with a zone offset", started: absent, finished: "2026-11-03T13:00:00+02:00"},
		{name: "finishedOn missing, startedOn recent", started: hourAgo, finished: absent, want: verify.ErrTime, problem: verify.TimeMissing, field: "finishedOn"},
		{name: "both missing", started: absent, finished: absent, want: verify.ErrTime, problem: verify.TimeMissing, field: "finishedOn"},
		{name: "finishedOn empty string", started: hourAgo, finished: "", want: verify.ErrTime, problem: verify.TimeMissing, field: "finishedOn"},
		{name: "finishedOn the Go zero time", started: absent, finished: "0001-01-01T00:00:00Z", want: verify.ErrTime, problem: verify.TimeMissing, field: "finishedOn"},
		{name: "finishedOn the Unix zero time", started: absent, finished: "1970-01-01T00:00:00Z", want: verify.ErrTime, problem: verify.TimeMissing, field: "finishedOn"},
		{name: "startedOn in the future", started: rfc(now.Add(time.Hour)), finished: hourAgo, want: verify.ErrTime, problem: verify.TimeInFuture, field: "startedOn", ahead: time.Hour},
		{name: "startedOn after finishedOn", started: rfc(now.Add(-time.Hour + time.Second)), finished: hourAgo, want: verify.ErrTime, problem: verify.TimeOutOfOrder, field: "startedOn"},
		{name: "startedOn the Unix zero time is no startedOn", started: "1970-01-01T00:00:00Z", finished: hourAgo},
		{name: "too old", started: absent, finished: rfc(now.Add(-721 * time.Hour)), want: verify.ErrTooOld},
		{name: "unparsable finishedOn", started: absent, finished: "yesterday", want: verify.ErrNoAttestation},
		// Without an age rule no time is relied on, and a builder whose
		// clock stepped back between start and finish is not refused.
		{name: "no age rule: startedOn after finishedOn", noAgeRule: true, started: rfc(now.Add(-time.Hour + time.Second)), finished: hourAgo},
		{name: "no age rule: future finishedOn", noAgeRule: true, started: hourAgo, finished: rfc(now.Add(time.Hour))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			extra := "builders: [{id: " + builderID + "}]\nmaxAge: 720h\n"
			if c.noAgeRule {
				extra = "builders: [{id: " + builderID + "}]\n"
			}
			eng, err := verify.NewEngine(ctx, pol(extra), verify.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			stmt := withTimes(t, build{}.statement(t), c.started, c.finished)
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(envelope(t, stmt, key)))
			if c.want == nil {
				if err != nil {
					t.Fatalf("want pass, got %v\n%s", err, rep)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v\n%s", err, c.want, rep)
			}
			if c.want == verify.ErrTime {
				if errors.Is(err, verify.ErrTooOld) {
					t.Errorf("a time problem is not an old build: %v", err)
				}
				var te *verify.TimeError
				if !errors.As(err, &te) {
					t.Fatalf("no *TimeError in %v", err)
				}
				if te.Problem != c.problem || te.Field != c.field || (c.ahead != 0 && te.Ahead != c.ahead) || !te.Now.Equal(now) {
					t.Errorf("TimeError = %+v, want problem %d field %s ahead %s", te, c.problem, c.field, c.ahead)
				}
				if !strings.Contains(rep.String(), c.field) {
					t.Errorf("the report does not name %s:\n%s", c.field, rep)
				}
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want verify.TimeProblem
	}{
		{now, 0},
		{now.Add(-1000 * time.Hour), 0},
		{now.Add(verify.ClockSkew), 0},
		{now.Add(verify.ClockSkew + time.Nanosecond), verify.TimeInFuture},
		{time.Time{}, verify.TimeMissing},
		{time.Unix(0, 0), verify.TimeMissing},
		{time.Unix(0, 1), 0},
	} {
		err := verify.CheckTime("x", c.t, now)
		var te *verify.TimeError
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s: %v", c.t, err)
		case c.want != 0 && (!errors.As(err, &te) || te.Problem != c.want || !errors.Is(err, verify.ErrTime)):
			t.Errorf("%s: err = %v, want problem %d", c.t, err, c.want)
		}
	}
}
