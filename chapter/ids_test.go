package chapter_test

import (
	"sync"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestIDGenConcurrent(t *testing.T) {
	const workers, perWorker = 8, 2000
	var g chapter.IDGen
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	results := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]int64, perWorker)
			for i := range ids {
				// Every worker reads the same few milliseconds, so ids
				// collide unless the generator serialises them.
				ids[i] = g.Next(now.Add(time.Duration(i%3) * time.Millisecond))
			}
			results[w] = ids
		}()
	}
	wg.Wait()
	seen := make(map[int64]bool, workers*perWorker)
	for w, ids := range results {
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("worker %d: id #%d %d after %d: not increasing", w, i, id, ids[i-1])
			}
			if seen[id] {
				t.Fatalf("worker %d: id %d handed out twice", w, id)
			}
			seen[id] = true
		}
	}
	// Calls that happen one after another see increasing ids, too.
	last := g.Next(now)
	for i := range 1000 {
		id := g.Next(now)
		if id <= last {
			t.Fatalf("sequential id #%d %d after %d: not increasing", i, id, last)
		}
		last = id
	}
}

func TestIDGenClockGoingBack(t *testing.T) {
	var g chapter.IDGen
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	times := []struct {
		name string
		t    time.Time
	}{
		{"now", now},
		{"an hour later", now.Add(time.Hour)},
		{"back to now", now},
		{"a year earlier", now.AddDate(-1, 0, 0)},
		{"the same millisecond", now.Add(time.Hour)},
		{"a microsecond later", now.Add(time.Hour + time.Microsecond)},
	}
	var last int64
	for _, tt := range times {
		t.Run(tt.name, func(t *testing.T) {
			id := g.Next(tt.t)
			if id <= last {
				t.Errorf("Next = %d, not above the last id %d", id, last)
			}
			last = id
		})
	}
}

func TestIDAt(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
	}{
		{"epoch", time.Unix(0, 0)},
		{"now", base},
		{"sub-millisecond", base.Add(999 * time.Microsecond)},
		{"far future", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := tt.t.Truncate(time.Millisecond)
			if got, want := chapter.IDAt(tt.t), chapter.IDAt(ms); got != want {
				t.Errorf("IDAt ignores sub-milliseconds: %d, want %d", got, want)
			}
			next := ms.Add(time.Millisecond)
			if !(chapter.IDAt(tt.t) < chapter.IDAt(next)) {
				t.Errorf("IDAt(%v) = %d, not below IDAt(+1ms) = %d", tt.t, chapter.IDAt(tt.t), chapter.IDAt(next))
			}
			// A fresh generator's ids at t lie in [IDAt(t), IDAt(t+1ms)):
			// "since IDAt(t)" pages find them, and only them.
			for range 200 {
				var g chapter.IDGen
				id := g.Next(tt.t)
				if id < chapter.IDAt(tt.t) || id >= chapter.IDAt(next) {
					t.Fatalf("Next(%v) = %d, outside [%d, %d)", tt.t, id, chapter.IDAt(tt.t), chapter.IDAt(next))
				}
			}
		})
	}
	t.Run("orders like time", func(t *testing.T) {
		var g chapter.IDGen
		early := g.Next(base)
		later := chapter.IDAt(base.Add(time.Second))
		if !(early < later) {
			t.Errorf("id at %v = %d, not below IDAt one second later = %d", base, early, later)
		}
		if id := g.Next(base.Add(2 * time.Second)); id < chapter.IDAt(base.Add(2*time.Second)) || id <= later {
			t.Errorf("id two seconds later = %d, not at or above %d", id, chapter.IDAt(base.Add(2*time.Second)))
		}
	})
}
