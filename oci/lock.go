package oci

import (
	"context"
	"sync"
)

// attachLocks serializes attaches to one (repository, digest) within the
// process. It is the package's only shared state, and deliberately so:
// independent callers in one process (for example goroutines of a build
// tool, each with its own options) must not race on the same tag, and only
// a process-wide table can guarantee that. Entries are removed when unused.
var attachLocks = &lockTable{m: map[string]*lockEntry{}}

type lockTable struct {
	mu sync.Mutex
	m  map[string]*lockEntry
}

type lockEntry struct {
	ch   chan struct{}
	refs int
}

// lock acquires key, honouring ctx, and returns the release function.
func (t *lockTable) lock(ctx context.Context, key string) (func(), error) {
	t.mu.Lock()
	e := t.m[key]
	if e == nil {
		e = &lockEntry{ch: make(chan struct{}, 1)}
		t.m[key] = e
	}
	e.refs++
	t.mu.Unlock()

	release := func() {
		t.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(t.m, key)
		}
		t.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
