package web

import (
	"context"
	"sync"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// idempotencyTTL is how long a key is remembered, as on Mastodon.
const idempotencyTTL = time.Hour

// idempotencyMaxKeys bounds the memory keys may take; past it, the oldest
// finished keys are forgotten first (expired ones at every sweep).
const idempotencyMaxKeys = 10000

// idempotency makes a POST with an Idempotency-Key header create at most one
// post per member and key within this process: a client that retries after
// a lost answer gets the same post back instead of a duplicate. Keys are not
// persisted; a restart forgets them.
type idempotency struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[idempotencyKey]*idempotencyEntry
}

type idempotencyKey struct {
	accountID int64
	key       string
}

// idempotencyEntry is one key: done closes when the first request ends;
// postID is 0 if it failed, and then the key is free again.
type idempotencyEntry struct {
	done   chan struct{}
	postID int64
	at     time.Time
}

func newIdempotency(now func() time.Time) *idempotency {
	return &idempotency{now: now, entries: map[idempotencyKey]*idempotencyEntry{}}
}

// do runs create once per (accountID, key); a repeat waits for the first
// request and answers with load of the post it created. An empty key runs
// create every time.
func (c *idempotency) do(ctx context.Context, accountID int64, key string,
	create func() (*chapter.Post, error), load func(id int64) (*chapter.Post, error)) (*chapter.Post, error) {
	if key == "" {
		return create()
	}
	k := idempotencyKey{accountID, key}
	for {
		e, first := c.begin(k)
		if first {
			return c.run(k, e, create)
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.postID != 0 {
			return load(e.postID)
		}
		// The first request failed and freed the key: try ourselves.
	}
}

// run is the first request for a key. finish runs even if create panics,
// so that the key does not stay blocked.
func (c *idempotency) run(k idempotencyKey, e *idempotencyEntry, create func() (*chapter.Post, error)) (p *chapter.Post, err error) {
	defer func() { c.finish(k, e, p, err) }()
	return create()
}

func (c *idempotency) begin(k idempotencyKey) (e *idempotencyEntry, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e, ok := c.entries[k]; ok && now.Sub(e.at) < idempotencyTTL {
		return e, false
	}
	if len(c.entries) >= idempotencyMaxKeys {
		c.sweep(now)
	}
	e = &idempotencyEntry{done: make(chan struct{}), at: now}
	c.entries[k] = e
	return e, true
}

func (c *idempotency) finish(k idempotencyKey, e *idempotencyEntry, p *chapter.Post, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && p != nil {
		e.postID = p.ID
	} else if c.entries[k] == e {
		delete(c.entries, k)
	}
	close(e.done)
}

// sweep forgets expired keys, and if that is not enough, every finished
// one: a duplicate is then possible, a memory leak is not. Called locked.
func (c *idempotency) sweep(now time.Time) {
	for k, e := range c.entries {
		if now.Sub(e.at) >= idempotencyTTL {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < idempotencyMaxKeys {
		return
	}
	for k, e := range c.entries {
		select {
		case <-e.done:
			delete(c.entries, k)
		default:
		}
	}
}
