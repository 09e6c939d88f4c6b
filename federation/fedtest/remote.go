// Package fedtest plays a strict remote Mastodon-like instance over real
// HTTP, for end-to-end tests of our federation. It signs what it sends the
// way Mastodon signs, and verifies what it receives at least as strictly as
// Mastodon verifies, with its own draft-cavage implementation built directly
// on crypto/rsa: it shares no code with package federation, so a mistake
// made the same way in our signer and our verifier cannot hide.
package fedtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Media types of ActivityPub documents.
const (
	activityJSON = "application/activity+json"
	jrdJSON      = "application/jrd+json"
)

// Received is one activity a Remote accepted: its inbox verified the HTTP
// signature, and the key's owner is the activity's actor.
type Received struct {
	// Inbox is the path that accepted it: "/users/NAME/inbox" or "/inbox".
	Inbox string
	// KeyID is the keyId of the verified signature.
	KeyID string
	// Raw is the body exactly as received.
	Raw []byte
	// Activity is Raw decoded.
	Activity map[string]any
}

// Option configures NewRemote.
type Option func(*config)

// config is what the options set.
type config struct {
	gtsKeys     bool
	pkcs1       bool
	key         *rsa.PrivateKey
	client      *http.Client
	actorFields map[string]any
}

// WithActorFields adds fields to (or replaces fields of) the served actor
// document, e.g. {"type": "Group", "level": "chapter"} to play a
// Chapterhouse node or a Lemmy community.
func WithActorFields(fields map[string]any) Option {
	return func(c *config) { c.actorFields = fields }
}

// WithGoToSocialKeys makes the remote behave like GoToSocial: its keyId is
// ACTOR/main-key (no fragment), served as a separate document that is a
// minimal stub of the actor carrying publicKey, and it signs with
// algorithm="hs2019". Our key fetcher must follow publicKey.owner to the
// full actor.
func WithGoToSocialKeys() Option { return func(c *config) { c.gtsKeys = true } }

// WithPKCS1Key makes the remote publish its key as PKCS#1
// ("RSA PUBLIC KEY"), as Mobilizon does.
func WithPKCS1Key() Option { return func(c *config) { c.pkcs1 = true } }

// WithKey makes the remote use key instead of generating one, to save the
// key generation in tests that start many remotes.
func WithKey(key *rsa.PrivateKey) Option { return func(c *config) { c.key = key } }

// WithHTTPClient sets the client the remote uses for its own requests (key
// fetches, Post, SignedGet), e.g. one that trusts an httptest TLS server.
func WithHTTPClient(client *http.Client) Option { return func(c *config) { c.client = client } }

// Remote is a running fake instance with one user. Its exported fields are
// read-only after NewRemote.
type Remote struct {
	URL            string // base URL, http://127.0.0.1:PORT
	Host           string // host:port
	Username       string
	Handle         string // USER@HOST, for WebFinger
	ActorID        string // URL + "/users/" + Username
	InboxURL       string // the user's inbox
	SharedInboxURL string // the instance's shared inbox, URL + "/inbox"
	KeyID          string // ActorID + "#main-key" (or "/main-key" for GoToSocial)
	Key            *rsa.PrivateKey

	cfg       config
	client    *http.Client
	publicPEM string

	hits atomic.Int64 // every request served

	mu       sync.Mutex
	received []Received
	refused  []string
	down     bool
	gone     bool
}

// NewRemote starts a remote instance with one user on 127.0.0.1, closed
// when the test ends.
func NewRemote(t testing.TB, username string, opts ...Option) *Remote {
	t.Helper()
	if username == "" || strings.IndexFunc(username, func(c rune) bool {
		return !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
	}) >= 0 {
		t.Fatalf("fedtest: username %q must be letters, digits and _", username)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	rm := &Remote{Username: username, cfg: cfg, Key: cfg.key, client: cfg.client}
	if rm.Key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("fedtest: generate key: %v", err)
		}
		rm.Key = key
	}
	pubPEM, err := encodePublicKey(&rm.Key.PublicKey, cfg.pkcs1)
	if err != nil {
		t.Fatalf("fedtest: %v", err)
	}
	rm.publicPEM = pubPEM
	if rm.client == nil {
		rm.client = &http.Client{Timeout: 10 * time.Second}
	}
	srv := httptest.NewServer(rm.routes())
	t.Cleanup(srv.Close)

	rm.URL = srv.URL
	rm.Host = strings.TrimPrefix(srv.URL, "http://")
	rm.Handle = username + "@" + rm.Host
	rm.ActorID = rm.URL + "/users/" + username
	rm.InboxURL = rm.ActorID + "/inbox"
	rm.SharedInboxURL = rm.URL + "/inbox"
	rm.KeyID = rm.ActorID + "#main-key"
	if cfg.gtsKeys {
		rm.KeyID = rm.ActorID + "/main-key"
	}
	return rm
}

// routes serves the instance.
func (rm *Remote) routes() http.Handler {
	mux := http.NewServeMux()
	user := "/users/" + rm.Username
	mux.HandleFunc("GET /.well-known/webfinger", rm.serveWebFinger)
	mux.HandleFunc("GET "+user, rm.serveActor)
	mux.HandleFunc("GET "+user+"/{collection}", rm.serveCollection)
	if rm.cfg.gtsKeys {
		mux.HandleFunc("GET "+user+"/main-key", rm.serveKeyStub)
	}
	mux.HandleFunc("POST "+user+"/inbox", rm.serveInbox)
	mux.HandleFunc("POST /inbox", rm.serveInbox)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rm.hits.Add(1)
		mux.ServeHTTP(w, r)
	})
}

// Hits counts every request the instance served, of any kind: a test can
// tell that a node never contacted it.
func (rm *Remote) Hits() int { return int(rm.hits.Load()) }

// Received returns a copy of the activities accepted so far, oldest first.
func (rm *Remote) Received() []Received {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return slices.Clone(rm.received)
}

// Refused returns why each refused request was refused, oldest first, so a
// test can assert that nothing we sent was refused.
func (rm *Remote) Refused() []string {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return slices.Clone(rm.refused)
}

// Reset forgets what was received and refused.
func (rm *Remote) Reset() {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.received, rm.refused = nil, nil
}

// WaitFor polls until cond holds for the activities received, and returns
// them; it fails the test (showing what was refused) after timeout. Call it
// from the test's goroutine.
func (rm *Remote) WaitFor(t testing.TB, cond func([]Received) bool, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rm.Received()
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("fedtest: %s: condition not met within %v; %d accepted, refused: %q",
				rm.ActorID, timeout, len(got), rm.Refused())
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Down makes both inboxes answer 503, like an instance that is down, until Up.
func (rm *Remote) Down() { rm.setDown(true) }

// Up undoes Down.
func (rm *Remote) Up() { rm.setDown(false) }

func (rm *Remote) setDown(down bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.down = down
}

// SetGone makes the actor, its key and the inboxes answer 410, like a
// deleted account, or undoes that.
func (rm *Remote) SetGone(gone bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.gone = gone
}

// state reports whether the instance is down or the account gone.
func (rm *Remote) state() (down, gone bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.down, rm.gone
}

// encodePublicKey encodes the key as the actor publishes it: PKIX, or
// PKCS#1 with WithPKCS1Key.
func encodePublicKey(pub *rsa.PublicKey, pkcs1 bool) (string, error) {
	if pkcs1 {
		der := x509.MarshalPKCS1PublicKey(pub)
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der})), nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// publicKey is the actor's publicKey object.
func (rm *Remote) publicKey() map[string]any {
	return map[string]any{"id": rm.KeyID, "owner": rm.ActorID, "publicKeyPem": rm.publicPEM}
}

// actorContext is the JSON-LD context Mastodon puts on actors.
func actorContext() []any {
	return []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"}
}

func (rm *Remote) serveActor(w http.ResponseWriter, r *http.Request) {
	if _, gone := rm.state(); gone {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	doc := map[string]any{
		"@context":                  actorContext(),
		"id":                        rm.ActorID,
		"type":                      "Person",
		"preferredUsername":         rm.Username,
		"name":                      rm.Username,
		"url":                       rm.URL + "/@" + rm.Username,
		"inbox":                     rm.InboxURL,
		"outbox":                    rm.ActorID + "/outbox",
		"followers":                 rm.ActorID + "/followers",
		"following":                 rm.ActorID + "/following",
		"endpoints":                 map[string]any{"sharedInbox": rm.SharedInboxURL},
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"publicKey":                 rm.publicKey(),
	}
	for k, v := range rm.cfg.actorFields {
		doc[k] = v
	}
	writeJSON(w, activityJSON, doc)
}

// serveKeyStub serves ACTOR/main-key as GoToSocial does: a stub of the actor
// (id is the actor's, not the key's) carrying only the key.
func (rm *Remote) serveKeyStub(w http.ResponseWriter, r *http.Request) {
	if _, gone := rm.state(); gone {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	writeJSON(w, activityJSON, map[string]any{
		"@context":          actorContext(),
		"id":                rm.ActorID,
		"type":              "Person",
		"preferredUsername": rm.Username,
		"publicKey":         rm.publicKey(),
	})
}

// serveCollection serves the user's outbox, followers and following, empty.
func (rm *Remote) serveCollection(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("collection")
	if name != "outbox" && name != "followers" && name != "following" {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, activityJSON, map[string]any{
		"@context":   "https://www.w3.org/ns/activitystreams",
		"id":         rm.ActorID + "/" + name,
		"type":       "OrderedCollection",
		"totalItems": 0,
	})
}

func (rm *Remote) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	resource := r.URL.Query().Get("resource")
	if resource != "acct:"+rm.Handle && resource != rm.ActorID {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, jrdJSON, map[string]any{
		"subject": "acct:" + rm.Handle,
		"aliases": []string{rm.ActorID},
		"links": []map[string]string{
			{"rel": "self", "type": activityJSON, "href": rm.ActorID},
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": rm.URL + "/@" + rm.Username},
		},
	})
}

// writeJSON answers 200 with v as JSON of the given media type.
func writeJSON(w http.ResponseWriter, mediaType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	_, _ = w.Write(b)
}
