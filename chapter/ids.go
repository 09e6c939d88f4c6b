package chapter

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// IDGen makes post ids that sort by time, like Mastodon's snowflakes: the
// high bits are milliseconds since the Unix epoch, the low 16 bits a counter
// that starts at a random value each millisecond. Ids from two processes
// writing at the same millisecond (serve and the CLI) are unlikely to
// collide, and a collision is caught by the primary key.
type IDGen struct {
	mu   sync.Mutex
	last int64
}

// Next returns an id greater than every id this generator returned before.
func (g *IDGen) Next(now time.Time) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := now.UnixMilli()<<16 | int64(randomUint16())
	if id <= g.last {
		id = g.last + 1
	}
	g.last = id
	return id
}

// IDAt is the smallest id at the given time: a paging bound for "since".
func IDAt(t time.Time) int64 { return t.UnixMilli() << 16 }

func randomUint16() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return binary.BigEndian.Uint16(b[:]) & 0x7fff
}
