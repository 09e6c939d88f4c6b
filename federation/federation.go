package federation

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Options configure the federation layer; cmd fills them from config.
type Options struct {
	Store chapter.Store
	// PublicURL is where the node is reached, e.g. https://chapter.example.
	PublicURL string
	// AllowHTTP lets the node fetch from and deliver to http:// peers, and
	// serve inboxes without TLS in front (loopback tests and demos only).
	AllowHTTP bool
	// AllowPrivateNetworks lets requests reach loopback and private
	// addresses (loopback tests and demos only).
	AllowPrivateNetworks bool
	// AuthorizedFetch makes our GETs of actors and posts require a signature.
	AuthorizedFetch bool
	RequestTimeout  time.Duration
	Workers         int
	RetryBase       time.Duration
	RetryMaxAge     time.Duration
	DeadAfter       time.Duration
	MaxBodyBytes    int64
	MaxJSONDepth    int
	BlockedDomains  []string
	InboxRateLimit  float64
	InboxBurst      int
	Version         string
	Logger          *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Client overrides the guarded HTTP client (tests only need it when
	// they want to count requests).
	Client *http.Client
}

// Federation is the node's ActivityPub side: it serves actors, WebFinger
// and NodeInfo, receives and processes inbox activities, resolves remote
// actors and delivers the outgoing queue. It implements chapter.Publisher
// and chapter.Resolver.
type Federation struct {
	o      Options
	store  chapter.Store
	svc    *chapter.Service
	urls   URLs
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	keys    keyCache
	keyGen  sync.Mutex // one inline key generation at a time
	limiter *hostLimiter
	blocked map[string]bool // from configuration

	blockMu  sync.Mutex
	blockSet map[string]bool // configuration and store, cached
	blockAt  time.Time

	keyMu      sync.RWMutex
	remoteKeys map[string]remoteKey // parsed signer keys by key id

	docs *docCache
	// healthy holds the hosts whose last delivery succeeded, so that a
	// success costs no store write per delivery.
	healthy sync.Map
	// signers holds the local accounts that sign deliveries, by id.
	signers sync.Map

	wake      chan struct{} // pokes the delivery workers
	inboxWake chan struct{} // pokes the inbox worker
}

var (
	_ chapter.Publisher = (*Federation)(nil)
	_ chapter.Resolver  = (*Federation)(nil)
)

// New builds the federation layer. Call Bind with the service before use.
func New(o Options) *Federation {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMaxAge <= 0 {
		o.RetryMaxAge = 72 * time.Hour
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = 7 * 24 * time.Hour
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxJSONDepth <= 0 {
		o.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if o.InboxRateLimit <= 0 {
		o.InboxRateLimit = 50
	}
	if o.InboxBurst <= 0 {
		o.InboxBurst = 200
	}
	client := o.Client
	if client == nil {
		client = NewHTTPClient(ClientOptions{AllowHTTP: o.AllowHTTP, AllowPrivateNetworks: o.AllowPrivateNetworks,
			Timeout: o.RequestTimeout, UserAgent: "Chapterhouse/" + o.Version + " (+" + o.PublicURL + ")"})
	}
	blocked := map[string]bool{}
	for _, d := range o.BlockedDomains {
		blocked[strings.ToLower(d)] = true
	}
	return &Federation{
		o: o, store: o.Store, urls: NewURLs(o.PublicURL), client: client, log: o.Logger, now: o.Now,
		keys: keyCache{m: map[int64]*rsa.PrivateKey{}}, limiter: newHostLimiter(o.InboxRateLimit, o.InboxBurst),
		blocked: blocked, remoteKeys: map[string]remoteKey{}, docs: newDocCache(), wake: make(chan struct{}, 1), inboxWake: make(chan struct{}, 1),
	}
}

// Bind gives the federation layer the service it hands inbox activities
// to. The service needs the federation layer as its Publisher, so the two
// are tied after both exist.
func (f *Federation) Bind(svc *chapter.Service) { f.svc = svc }

// URLs returns the node's URL layout.
func (f *Federation) URLs() URLs { return f.urls }

// LocalPostIRI implements chapter.Publisher.
func (f *Federation) LocalPostIRI(author *chapter.Account, id int64) (iri, pageURL string) {
	return f.urls.Post(author.Username, id), f.urls.PostPage(author.Username, id)
}

// LocalActorIRI implements chapter.Publisher.
func (f *Federation) LocalActorIRI(a *chapter.Account) string { return f.urls.Actor(a.Username) }

// Run starts the workers (delivery, inbox processing, key generation) and
// blocks until ctx ends and they stopped.
func (f *Federation) Run(ctx context.Context) error {
	if f.svc == nil {
		return errors.New("federation: Run before Bind")
	}
	var wg sync.WaitGroup
	for i := 0; i < f.o.Workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f.deliveryWorker(ctx, i == 0) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); f.inboxWorker(ctx) }()
	go func() { defer wg.Done(); f.keyWorker(ctx) }()
	wg.Wait()
	return nil
}

// domainBlocked reports whether host (or a parent domain of it) is blocked
// by configuration or by the admin.
func (f *Federation) domainBlocked(ctx context.Context, host string) bool {
	blocked := f.blockedDomains(ctx)
	host = strings.ToLower(host)
	if blocked[host] {
		return true // a host:port, as nodes on one machine are told apart
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return blocked[host]
	}
	for d := host; d != ""; {
		if blocked[d] {
			return true
		}
		_, rest, found := strings.Cut(d, ".")
		if !found {
			break
		}
		d = rest
	}
	return false
}

// blockedTTL is how long the admin's domain blocks are cached: the check
// runs several times per inbox request.
const blockedTTL = 5 * time.Second

// blockedDomains is the configured blocks and the admin's, refreshed from
// the store every few seconds.
func (f *Federation) blockedDomains(ctx context.Context) map[string]bool {
	f.blockMu.Lock()
	defer f.blockMu.Unlock()
	if f.blockSet != nil && f.now().Sub(f.blockAt) < blockedTTL {
		return f.blockSet
	}
	set := make(map[string]bool, len(f.blocked))
	for d := range f.blocked {
		set[d] = true
	}
	stored, err := f.store.BlockedDomains(ctx)
	if err != nil && f.blockSet != nil {
		return f.blockSet // keep the last good list while the store is busy
	}
	for _, d := range stored {
		set[strings.ToLower(d)] = true
	}
	f.blockSet, f.blockAt = set, f.now()
	return set
}

// poke wakes a worker without blocking when it is already awake.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
