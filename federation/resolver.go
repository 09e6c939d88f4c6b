package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// actorTTL is how long a fetched actor document is trusted before it is
// fetched again.
const actorTTL = 24 * time.Hour

// errNotActor means a fetched document is not an actor we can talk to.
var errNotActor = errors.New("not an actor")

// Resolve implements chapter.Resolver: "@user@host" through WebFinger, or
// an actor IRI directly.
func (f *Federation) Resolve(ctx context.Context, ref string) (*chapter.Account, error) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		return f.remoteActor(ctx, ref, false)
	}
	user, host, ok := strings.Cut(strings.TrimPrefix(ref, "@"), "@")
	if !ok || user == "" || host == "" {
		return nil, fmt.Errorf("resolve %q: want @user@host or an actor URL: %w", ref, chapter.ErrInvalid)
	}
	if strings.EqualFold(host, f.urls.Host()) {
		return f.store.AccountByUsername(ctx, strings.ToLower(user))
	}
	if a, err := f.store.AccountByHandle(ctx, user, host); err == nil && f.now().Sub(a.FetchedAt) < actorTTL {
		return a, nil
	}
	iri, err := f.webFinger(ctx, user, host)
	if err != nil {
		return nil, err
	}
	return f.remoteActor(ctx, iri, false)
}

// webFinger finds the actor IRI of user@host.
func (f *Federation) webFinger(ctx context.Context, user, host string) (string, error) {
	scheme := "https"
	if f.o.AllowHTTP {
		scheme = "http" // loopback nodes in tests and demos serve plain HTTP
	}
	u := scheme + "://" + host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+user+"@"+host)
	body, err := f.get(ctx, u, "application/jrd+json, application/json", false)
	if err != nil {
		return "", fmt.Errorf("webfinger %s@%s: %w", user, host, err)
	}
	var answer jrd
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("webfinger %s@%s: %v: %w", user, host, err, chapter.ErrNotFound)
	}
	for _, l := range answer.Links {
		if l.Rel == "self" && (strings.HasPrefix(l.Type, "application/activity+json") || strings.HasPrefix(l.Type, "application/ld+json")) {
			return l.Href, nil
		}
	}
	return "", fmt.Errorf("webfinger %s@%s: no ActivityPub actor: %w", user, host, chapter.ErrNotFound)
}

// remoteActor returns the stored account of a remote actor, fetching its
// document when unknown, stale or when refresh is asked for.
func (f *Federation) remoteActor(ctx context.Context, iri string, refresh bool) (*chapter.Account, error) {
	if username := f.urls.ParseLocalActor(iri); username != "" {
		return f.store.AccountByUsername(ctx, username)
	}
	cached, err := f.store.AccountByIRI(ctx, iri)
	if err == nil && !refresh && f.now().Sub(cached.FetchedAt) < actorTTL {
		return cached, nil
	}
	a, ferr := f.fetchActor(ctx, iri)
	if ferr != nil {
		if cached != nil && !refresh {
			return cached, nil // stale beats nothing while the server is down
		}
		return nil, ferr
	}
	if err := f.store.UpsertRemoteAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("store actor %q: %w", iri, err)
	}
	return a, nil
}

// fetchActor GETs and parses an actor document.
func (f *Federation) fetchActor(ctx context.Context, iri string) (*chapter.Account, error) {
	body, err := f.get(ctx, iri, activityAccept, true)
	if err != nil {
		return nil, fmt.Errorf("fetch actor %q: %w", iri, err)
	}
	doc, err := parseActorDoc(body, f.o.MaxJSONDepth)
	if err != nil {
		return nil, fmt.Errorf("actor %q: %w", iri, err)
	}
	a, err := doc.account(iri)
	if err != nil {
		return nil, err
	}
	a.FetchedAt = f.now()
	return a, nil
}

// keyOwner finds the account owning a key id, from the store or by fetching
// the key (refresh forces a fetch). The keyId may be the actor with a
// fragment (Mastodon), a separate key document (GoToSocial's …/main-key), or
// the actor itself (Hubzilla).
func (f *Federation) keyOwner(ctx context.Context, keyID string, refresh bool) (*chapter.Account, error) {
	if !refresh {
		if a, err := f.store.AccountByKeyID(ctx, keyID); err == nil && a.PublicKeyPEM != "" {
			return a, nil
		}
	}
	if _, err := CheckURL(keyID, f.o.AllowHTTP); err != nil {
		return nil, fmt.Errorf("key id %q: %w", keyID, err)
	}
	docURL, _, _ := strings.Cut(keyID, "#")
	body, err := f.get(ctx, docURL, activityAccept, true)
	if err != nil {
		return nil, fmt.Errorf("fetch key %q: %w", keyID, err)
	}
	doc, err := parseActorDoc(body, f.o.MaxJSONDepth)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", keyID, err)
	}
	ownerIRI := doc.ID
	if doc.Inbox == "" {
		// A key document (or an actor stub without an inbox): its owner is
		// the actor, whose own document must name this key.
		ownerIRI = doc.Owner
		if ownerIRI == "" {
			ownerIRI = doc.PublicKey.Owner
		}
		if ownerIRI == "" {
			return nil, fmt.Errorf("key %q has no owner: %w", keyID, errNotActor)
		}
	}
	owner, err := f.remoteActor(ctx, ownerIRI, refresh || doc.Inbox != "")
	if err != nil {
		return nil, err
	}
	if owner.PublicKeyID != keyID {
		return nil, fmt.Errorf("key %q is not the key of %q (%q)", keyID, owner.ActorIRI, owner.PublicKeyID)
	}
	return owner, nil
}

const activityAccept = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// errHTTPStatus carries the status of a failed fetch.
type errHTTPStatus struct{ code int }

func (e errHTTPStatus) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// get fetches a document with a bounded body, signed by the Group when
// signed is set (servers in authorized-fetch mode require it).
func (f *Federation) get(ctx context.Context, raw, accept string, signed bool) ([]byte, error) {
	u, err := CheckURL(raw, f.o.AllowHTTP)
	if err != nil {
		return nil, err
	}
	if f.domainBlocked(ctx, u.Host) {
		return nil, fmt.Errorf("%s: %w", u.Host, errBlocked)
	}
	ctx, cancel := context.WithTimeout(ctx, f.requestTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("request %q: %w", raw, err)
	}
	req.Header.Set("Accept", accept)
	if signed {
		if err := f.signAsGroup(ctx, req, nil); err != nil {
			return nil, err
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", raw, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("get %q: %w", raw, errHTTPStatus{resp.StatusCode})
	}
	return ReadBody(resp.Body, f.o.MaxBodyBytes)
}

func (f *Federation) requestTimeout() time.Duration {
	if f.o.RequestTimeout > 0 {
		return f.o.RequestTimeout
	}
	return DefaultClientTimeout
}

// signAsGroup signs a request with the node's Group key: the node speaks
// for itself when it fetches.
func (f *Federation) signAsGroup(ctx context.Context, req *http.Request, body []byte) error {
	g, err := f.svc.Group(ctx)
	if err != nil {
		return err
	}
	return f.sign(ctx, req, body, g)
}

func (f *Federation) sign(ctx context.Context, req *http.Request, body []byte, signer *chapter.Account) error {
	key, err := f.privateKey(ctx, signer.ID)
	if err != nil {
		return err
	}
	if err := SignRequest(req, body, f.urls.KeyID(signer.Username), key, f.now()); err != nil {
		return fmt.Errorf("sign as %q: %w", signer.Username, err)
	}
	return nil
}
