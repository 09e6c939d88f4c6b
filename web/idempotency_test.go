package web

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// TestIdempotencyConcurrent checks that requests racing with one key create
// one post, and that a failed first attempt leaves the key free.
func TestIdempotencyConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newIdempotency(func() time.Time { return now })
	load := func(id int64) (*chapter.Post, error) { return &chapter.Post{ID: id}, nil }

	var calls atomic.Int32
	release := make(chan struct{})
	create := func() (*chapter.Post, error) {
		n := calls.Add(1)
		<-release
		return &chapter.Post{ID: int64(100 + n)}, nil
	}
	var wg sync.WaitGroup
	got := make([]int64, 5)
	for i := range got {
		wg.Go(func() {
			p, err := c.do(context.Background(), 1, "key", create, load)
			if err != nil {
				t.Errorf("do: %v", err)
				return
			}
			got[i] = p.ID
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("create ran %d times, want 1", calls.Load())
	}
	for i, id := range got {
		if id != 101 {
			t.Errorf("request %d got post %d, want 101", i, id)
		}
	}

	failing := func() (*chapter.Post, error) { return nil, errors.New("disk full") }
	if _, err := c.do(context.Background(), 1, "retry", failing, load); err == nil {
		t.Fatal("want the first attempt's error")
	}
	p, err := c.do(context.Background(), 1, "retry", func() (*chapter.Post, error) { return &chapter.Post{ID: 7}, nil }, load)
	if err != nil || p.ID != 7 {
		t.Errorf("retry after failure = %v, %v; want post 7", p, err)
	}

	now = now.Add(idempotencyTTL)
	p, err = c.do(context.Background(), 1, "key", func() (*chapter.Post, error) { return &chapter.Post{ID: 8}, nil }, load)
	if err != nil || p.ID != 8 {
		t.Errorf("after the key expired = %v, %v; want a new post 8", p, err)
	}
}
