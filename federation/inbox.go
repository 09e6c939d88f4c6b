package federation

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Inbox refusals, mapped to statuses in writeError.
var (
	errMalformed        = errors.New("malformed activity")
	errUnsupportedMedia = errors.New("unsupported media type")
	errRateLimited      = errors.New("rate limited")
	errBlocked          = errors.New("domain blocked")
)

// handleInbox receives an activity in the shared or a personal inbox. It
// verifies the request as strictly as Mastodon does, stores the activity
// and answers 202; a worker processes it afterwards. Nothing is stored
// unless every check passed, and an activity id seen before is accepted
// again without being stored twice.
//
// go-fed's pub.FederatingActor is not used for this: it processes the
// activity before answering and keeps no durable record of it, where we
// want verify → persist → 202 → process from the store, resumable after a
// crash.
func (f *Federation) handleInbox(w http.ResponseWriter, r *http.Request) {
	if err := f.receive(r); err != nil {
		f.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// incoming is the part of an activity the inbox checks before storing.
type incoming struct {
	ID     string
	Type   string
	Actor  string
	Object string
}

func (f *Federation) receive(r *http.Request) error {
	ctx := r.Context()
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	params, sigErr := ParseSignatureHeader(r.Header.Get("Signature"))
	signerHost := ""
	if sigErr == nil {
		if u, err := url.Parse(params.KeyID); err == nil {
			signerHost = strings.ToLower(u.Host)
		}
	}
	if signerHost != "" && !f.limiter.allow(signerHost) {
		return fmt.Errorf("inbox: %s: %w", signerHost, errRateLimited)
	}
	body, err := ReadBody(r.Body, f.o.MaxBodyBytes)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	checker := SignatureChecker{Now: f.now}
	if params, err = checker.Check(r, body); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	act, err := parseIncoming(body, f.o.MaxJSONDepth)
	if err != nil {
		return err
	}
	actorURL, err := url.Parse(act.Actor)
	if err != nil || actorURL.Host == "" {
		return fmt.Errorf("inbox: actor %q: %w", act.Actor, errMalformed)
	}
	if f.domainBlocked(ctx, actorURL.Host) || f.domainBlocked(ctx, signerHost) {
		return fmt.Errorf("inbox: %s: %w", actorURL.Host, errBlocked)
	}
	if err := f.verifySigner(ctx, r, params, act); err != nil {
		return err
	}
	if act.ID == "" {
		sum := sha256.Sum256(body)
		act.ID = act.Actor + "#anonymous/" + hex.EncodeToString(sum[:8])
	}
	created, err := f.store.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: act.ID, ActorIRI: act.Actor,
		Body: body, ReceivedAt: f.now()})
	if err != nil {
		return fmt.Errorf("inbox: save %q: %w", act.ID, err)
	}
	if created {
		poke(f.inboxWake)
	}
	return nil
}

// checkMediaType accepts ActivityPub's two media types and plain JSON.
func checkMediaType(header string) error {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return fmt.Errorf("inbox: content type %q: %w", header, errUnsupportedMedia)
	}
	switch mt {
	case "application/activity+json", "application/ld+json", "application/json":
		return nil
	}
	return fmt.Errorf("inbox: content type %q: %w", mt, errUnsupportedMedia)
}

// parseIncoming checks that the body is one bounded JSON object with a
// type and an actor.
func parseIncoming(body []byte, maxDepth int) (incoming, error) {
	if err := CheckJSONDepth(body, maxDepth); err != nil {
		return incoming{}, fmt.Errorf("inbox: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return incoming{}, fmt.Errorf("inbox: %v: %w", err, errMalformed)
	}
	act := incoming{ID: stringOrID(m["id"]), Type: typeName(m["type"]), Actor: stringOrID(m["actor"]),
		Object: stringOrID(m["object"])}
	if act.Type == "" || act.Actor == "" {
		return incoming{}, fmt.Errorf("inbox: activity without type or actor: %w", errMalformed)
	}
	return act, nil
}

// stringOrID reads a JSON value that is an IRI or an object with an id, or
// a one-element array of either, as other servers send all three.
func stringOrID(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if id, ok := x["id"].(string); ok {
			return id
		}
	case []any:
		if len(x) > 0 {
			return stringOrID(x[0])
		}
	}
	return ""
}

// typeName reads "type", which may be a string or an array of strings.
func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		for _, t := range x {
			if s, ok := t.(string); ok {
				return s
			}
		}
	}
	return ""
}

// verifySigner checks the signature with the signer's key, refetching the
// key once when the cached one fails (the sender may have rotated it), and
// checks that the key belongs to the activity's actor.
func (f *Federation) verifySigner(ctx context.Context, r *http.Request, params SignatureParams, act incoming) error {
	key, err := f.signerKey(ctx, params.KeyID, false)
	if err != nil && act.Type == "Delete" && act.Object == act.Actor {
		// The actor deleted itself: its key is gone with it. Nothing of
		// theirs can be verified any more, and there is nothing to do.
		return fmt.Errorf("inbox: self-delete of unknown actor %q: %w", act.Actor, ErrBadSignature)
	}
	if err != nil {
		return fmt.Errorf("inbox: key %q: %v: %w", params.KeyID, err, ErrBadSignature)
	}
	if err := VerifySignature(r, key.pub); err != nil {
		fresh, ferr := f.signerKey(ctx, params.KeyID, true)
		if ferr != nil {
			return fmt.Errorf("inbox: key %q: %v: %w", params.KeyID, ferr, ErrBadSignature)
		}
		if err := VerifySignature(r, fresh.pub); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		key = fresh
	}
	if key.owner != act.Actor {
		return fmt.Errorf("inbox: signed by %q for actor %q: %w", key.owner, act.Actor, ErrBadSignature)
	}
	return nil
}

// remoteKey is a verified public key and the actor that owns it.
type remoteKey struct {
	owner string
	pub   *rsa.PublicKey
	at    time.Time
}

// remoteKeyTTL is how long a parsed key is trusted before the store is
// asked again; a failing signature refetches at once anyway.
const remoteKeyTTL = 10 * time.Minute

// signerKey returns the public key of keyID and its owner, from memory,
// the store, or the network (refresh forces the network).
func (f *Federation) signerKey(ctx context.Context, keyID string, refresh bool) (remoteKey, error) {
	if !refresh {
		f.keyMu.RLock()
		k, ok := f.remoteKeys[keyID]
		f.keyMu.RUnlock()
		if ok && f.now().Sub(k.at) < remoteKeyTTL {
			return k, nil
		}
	}
	owner, err := f.keyOwner(ctx, keyID, refresh)
	if err != nil {
		return remoteKey{}, err
	}
	pub, err := ParsePublicKeyPEM(owner.PublicKeyPEM)
	if err != nil {
		return remoteKey{}, fmt.Errorf("key of %q: %w", owner.ActorIRI, err)
	}
	k := remoteKey{owner: owner.ActorIRI, pub: pub, at: f.now()}
	f.keyMu.Lock()
	if len(f.remoteKeys) > 10000 {
		f.remoteKeys = map[string]remoteKey{}
	}
	f.remoteKeys[keyID] = k
	f.keyMu.Unlock()
	return k, nil
}

// hostLimiter is a token bucket per remote host, so one busy or hostile
// server cannot starve the others.
type hostLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newHostLimiter(perSecond float64, burst int) *hostLimiter {
	return &hostLimiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

func (h *hostLimiter) allow(host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if now.Sub(h.swept) > 10*time.Minute {
		// Forget full buckets so the map does not grow without bound.
		for k, l := range h.buckets {
			if l.TokensAt(now) >= float64(h.burst) {
				delete(h.buckets, k)
			}
		}
		h.swept = now
	}
	l, ok := h.buckets[host]
	if !ok {
		l = rate.NewLimiter(h.limit, h.burst)
		h.buckets[host] = l
	}
	return l.AllowN(now, 1)
}
