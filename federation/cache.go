package federation

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// docCacheTTL bounds how stale a cached document can be when it changed
// without passing through this process (the CLI writing to the same store,
// a member suspended).
const docCacheTTL = 5 * time.Second

// docCacheMax bounds the number of cached documents.
const docCacheMax = 10000

// docCache keeps rendered GET answers (actors, WebFinger, collections,
// notes): remote servers fetch the same few documents over and over, and
// rendering them (a store read, go-fed serialization, JSON) costs far more
// than serving bytes. Every change this process publishes or applies bumps
// the generation, which empties the cache.
type docCache struct {
	gen     atomic.Uint64
	mu      sync.RWMutex
	entries map[string]cachedDoc
}

type cachedDoc struct {
	gen         uint64
	at          time.Time
	contentType string
	vary        string
	body        []byte
}

func newDocCache() *docCache { return &docCache{entries: map[string]cachedDoc{}} }

// invalidate forgets everything cached so far.
func (c *docCache) invalidate() { c.gen.Add(1) }

func (c *docCache) get(key string, now time.Time) (cachedDoc, bool) {
	c.mu.RLock()
	d, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || d.gen != c.gen.Load() || now.Sub(d.at) > docCacheTTL {
		return cachedDoc{}, false
	}
	return d, true
}

func (c *docCache) put(key string, d cachedDoc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= docCacheMax {
		c.entries = map[string]cachedDoc{} // crude but bounded; misses refill it
	}
	c.entries[key] = d
}

// cached serves a GET handler's 200 answers from the cache. The key
// includes whether ActivityPub JSON was asked for, since the same URL
// answers people with a redirect.
func (f *Federation) cached(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.RequestURI()
		if wantsActivityJSON(r) {
			key += "|ap"
		}
		now := time.Now()
		if d, ok := f.docs.get(key, now); ok {
			h := w.Header()
			h.Set("Content-Type", d.contentType)
			if d.vary != "" {
				h.Set("Vary", d.vary)
			}
			_, _ = w.Write(d.body)
			return
		}
		gen := f.docs.gen.Load()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next(rec, r)
		if rec.status == http.StatusOK && r.Method == http.MethodGet {
			f.docs.put(key, cachedDoc{gen: gen, at: now, contentType: rec.Header().Get("Content-Type"),
				vary: rec.Header().Get("Vary"), body: rec.buf.Bytes()})
		}
	}
}

// recorder passes a response through while keeping a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}
