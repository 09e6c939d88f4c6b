package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// collectionPageSize is how many items one page of a collection holds.
const collectionPageSize = 20

// activityMediaType is what we answer with; the profile-qualified
// ld+json form is accepted on requests.
const activityMediaType = "application/activity+json"

// wantsActivityJSON reports whether a request asks for ActivityPub JSON
// rather than a page for people.
func wantsActivityJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}

// actorMap is the actor document of a local account: everything Mastodon
// needs to show, follow and verify it.
func (f *Federation) actorMap(ctx context.Context, a *chapter.Account) (map[string]any, error) {
	pemText, err := f.publicKeyPEM(ctx, a)
	if err != nil {
		return nil, err
	}
	var actor interface {
		vocab.Type
		withID
		SetActivityStreamsPreferredUsername(vocab.ActivityStreamsPreferredUsernameProperty)
		SetActivityStreamsName(vocab.ActivityStreamsNameProperty)
		SetActivityStreamsSummary(vocab.ActivityStreamsSummaryProperty)
		SetActivityStreamsUrl(vocab.ActivityStreamsUrlProperty)
		SetActivityStreamsInbox(vocab.ActivityStreamsInboxProperty)
		SetActivityStreamsOutbox(vocab.ActivityStreamsOutboxProperty)
		SetActivityStreamsFollowers(vocab.ActivityStreamsFollowersProperty)
		SetActivityStreamsFollowing(vocab.ActivityStreamsFollowingProperty)
		SetActivityStreamsIcon(vocab.ActivityStreamsIconProperty)
		SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
		SetW3IDSecurityV1PublicKey(vocab.W3IDSecurityV1PublicKeyProperty)
		SetTootDiscoverable(vocab.TootDiscoverableProperty)
	}
	if a.Kind == chapter.KindGroup {
		actor = streams.NewActivityStreamsGroup()
	} else {
		actor = streams.NewActivityStreamsPerson()
	}
	id := f.urls.Actor(a.Username)
	setID(actor, id)
	pu := streams.NewActivityStreamsPreferredUsernameProperty()
	pu.SetXMLSchemaString(a.Username)
	actor.SetActivityStreamsPreferredUsername(pu)
	name := streams.NewActivityStreamsNameProperty()
	name.AppendXMLSchemaString(a.DisplayName)
	actor.SetActivityStreamsName(name)
	summary := streams.NewActivityStreamsSummaryProperty()
	summary.AppendXMLSchemaString(a.Bio)
	actor.SetActivityStreamsSummary(summary)
	page := streams.NewActivityStreamsUrlProperty()
	page.AppendIRI(parseIRI(f.urls.Profile(a.Username)))
	actor.SetActivityStreamsUrl(page)
	inbox := streams.NewActivityStreamsInboxProperty()
	inbox.SetIRI(parseIRI(f.urls.Inbox(a.Username)))
	actor.SetActivityStreamsInbox(inbox)
	outbox := streams.NewActivityStreamsOutboxProperty()
	outbox.SetIRI(parseIRI(f.urls.Outbox(a.Username)))
	actor.SetActivityStreamsOutbox(outbox)
	followers := streams.NewActivityStreamsFollowersProperty()
	followers.SetIRI(parseIRI(f.urls.Followers(a.Username)))
	actor.SetActivityStreamsFollowers(followers)
	following := streams.NewActivityStreamsFollowingProperty()
	following.SetIRI(parseIRI(f.urls.Following(a.Username)))
	actor.SetActivityStreamsFollowing(following)
	icon := streams.NewActivityStreamsImage()
	iconURL := streams.NewActivityStreamsUrlProperty()
	avatar := a.AvatarURL
	if avatar == "" {
		avatar = f.urls.Avatar()
	}
	iconURL.AppendIRI(parseIRI(avatar))
	icon.SetActivityStreamsUrl(iconURL)
	mt := streams.NewActivityStreamsMediaTypeProperty()
	mt.Set("image/png")
	icon.SetActivityStreamsMediaType(mt)
	iconProp := streams.NewActivityStreamsIconProperty()
	iconProp.AppendActivityStreamsImage(icon)
	actor.SetActivityStreamsIcon(iconProp)
	actor.SetActivityStreamsPublished(publishedProperty(a.CreatedAt))
	disc := streams.NewTootDiscoverableProperty()
	disc.Set(true)
	actor.SetTootDiscoverable(disc)
	key := streams.NewW3IDSecurityV1PublicKey()
	setID(key, f.urls.KeyID(a.Username))
	owner := streams.NewW3IDSecurityV1OwnerProperty()
	owner.SetIRI(parseIRI(id))
	key.SetW3IDSecurityV1Owner(owner)
	pemProp := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	pemProp.Set(pemText)
	key.SetW3IDSecurityV1PublicKeyPem(pemProp)
	keyProp := streams.NewW3IDSecurityV1PublicKeyProperty()
	keyProp.AppendW3IDSecurityV1PublicKey(key)
	actor.SetW3IDSecurityV1PublicKey(keyProp)
	m, err := serialize(actor, func(m map[string]any) {
		m["manuallyApprovesFollowers"] = a.Locked
		m["indexable"] = true
		m["endpoints"] = map[string]any{"sharedInbox": f.urls.SharedInbox()}
	})
	if err != nil {
		return nil, err
	}
	if a.Kind == chapter.KindGroup {
		if err := f.treeFields(ctx, a, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// localAccount loads the local account named in the route, hiding the
// suspended and the pending.
func (f *Federation) localAccount(r *http.Request) (*chapter.Account, error) {
	a, err := f.store.AccountByUsername(r.Context(), mux.Vars(r)["username"])
	if err != nil {
		return nil, err
	}
	if a.State != chapter.StateActive {
		return nil, fmt.Errorf("account %q is %s: %w", a.Username, a.State, chapter.ErrNotFound)
	}
	return a, nil
}

// handleActor serves an actor document, or sends people to the profile page.
func (f *Federation) handleActor(w http.ResponseWriter, r *http.Request) {
	a, err := f.localAccount(r)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if !wantsActivityJSON(r) {
		http.Redirect(w, r, f.urls.Profile(a.Username), http.StatusFound)
		return
	}
	m, err := f.actorMap(r.Context(), a)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	writeActivityJSON(w, http.StatusOK, m)
}

// handlePost serves a post's Note at its id, or a Tombstone with 410 once
// it is deleted.
func (f *Federation) handlePost(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		f.writeError(w, r, fmt.Errorf("post id: %w", chapter.ErrNotFound))
		return
	}
	p, err := f.svc.Post(r.Context(), nil, id)
	if p != nil && p.Author != nil && p.Author.Username != mux.Vars(r)["username"] {
		f.writeError(w, r, fmt.Errorf("post %d by another author: %w", id, chapter.ErrNotFound))
		return
	}
	if errors.Is(err, chapter.ErrGone) {
		m, err := serialize(tombstone(p.IRI, p.DeletedAt), nil)
		if err != nil {
			f.writeError(w, r, err)
			return
		}
		writeActivityJSON(w, http.StatusGone, m)
		return
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if !p.Author.Local() {
		f.writeError(w, r, fmt.Errorf("post %d is remote: %w", id, chapter.ErrNotFound))
		return
	}
	if !wantsActivityJSON(r) {
		http.Redirect(w, r, p.URL, http.StatusFound)
		return
	}
	m, err := f.noteMap(r.Context(), p)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	writeActivityJSON(w, http.StatusOK, m)
}

// handleOutbox serves a paged OrderedCollection of an actor's public
// activities: a member's Creates, the Group's Announces.
func (f *Federation) handleOutbox(w http.ResponseWriter, r *http.Request) {
	a, err := f.localAccount(r)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	q := chapter.TimelineQuery{Visibilities: []chapter.Visibility{chapter.VisibilityPublic, chapter.VisibilityUnlisted}}
	if a.Kind == chapter.KindGroup {
		q.NodeOnly = true
		q.Visibilities = []chapter.Visibility{chapter.VisibilityPublic}
	} else {
		q.AccountID = a.ID
	}
	outbox := f.urls.Outbox(a.Username)
	pageParam := r.URL.Query().Get("page")
	if pageParam == "" {
		total, err := f.store.CountPosts(ctx, q.AccountID)
		if err != nil {
			f.writeError(w, r, err)
			return
		}
		writeActivityJSON(w, http.StatusOK, map[string]any{
			"@context": asContext, "id": outbox, "type": "OrderedCollection",
			"totalItems": total, "first": outbox + "?page=true", "last": outbox + "?page=true&min_id=0",
		})
		return
	}
	q.MaxID, _ = strconv.ParseInt(r.URL.Query().Get("max_id"), 10, 64)
	q.Limit = collectionPageSize
	posts, err := f.store.Timeline(ctx, q)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	items := make([]any, 0, len(posts))
	for _, p := range posts {
		item, err := f.outboxItem(ctx, a, p)
		if err != nil {
			f.writeError(w, r, err)
			return
		}
		items = append(items, item)
	}
	pageID := outbox + "?page=true"
	if q.MaxID != 0 {
		pageID += "&max_id=" + strconv.FormatInt(q.MaxID, 10)
	}
	page := map[string]any{"@context": asContext, "id": pageID, "type": "OrderedCollectionPage",
		"partOf": outbox, "orderedItems": items}
	if len(posts) == collectionPageSize {
		page["next"] = outbox + "?page=true&max_id=" + strconv.FormatInt(posts[len(posts)-1].ID, 10)
	}
	writeActivityJSON(w, http.StatusOK, page)
}

// outboxItem is one activity of an outbox: the Group's Announce of a post,
// or a member's Create with the Note embedded.
func (f *Federation) outboxItem(ctx context.Context, a *chapter.Account, p *chapter.Post) (map[string]any, error) {
	if a.Kind == chapter.KindGroup {
		return map[string]any{"id": f.announceID(a, p), "type": "Announce", "actor": a.ActorIRI,
			"object": p.IRI, "published": p.CreatedAt.UTC().Format(time.RFC3339),
			"to": []string{publicIRI}, "cc": []string{f.urls.Followers(a.Username)}}, nil
	}
	note, err := f.noteMap(ctx, p)
	if err != nil {
		return nil, err
	}
	delete(note, "@context")
	addr := f.postAddressing(p)
	return map[string]any{"id": p.IRI + "/activity", "type": "Create", "actor": a.ActorIRI,
		"published": p.CreatedAt.UTC().Format(time.RFC3339), "to": addr.to, "cc": addr.cc, "object": note}, nil
}

// handleFollowers and handleFollowing serve counts and pages of actor ids.
func (f *Federation) handleFollowers(w http.ResponseWriter, r *http.Request) {
	f.serveFollowCollection(w, r, true)
}

func (f *Federation) handleFollowing(w http.ResponseWriter, r *http.Request) {
	f.serveFollowCollection(w, r, false)
}

func (f *Federation) serveFollowCollection(w http.ResponseWriter, r *http.Request, followers bool) {
	a, err := f.localAccount(r)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	id, count, list := f.urls.Following(a.Username), f.store.CountFollowing, f.store.Following
	if followers {
		id, count, list = f.urls.Followers(a.Username), f.store.CountFollowers, f.store.Followers
	}
	total, err := count(ctx, a.ID)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	pageNum, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pageNum < 1 {
		writeActivityJSON(w, http.StatusOK, map[string]any{"@context": asContext, "id": id,
			"type": "OrderedCollection", "totalItems": total, "first": id + "?page=1"})
		return
	}
	accounts, err := list(ctx, a.ID, chapter.FollowAccepted, collectionPageSize, (pageNum-1)*collectionPageSize)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	items := make([]string, 0, len(accounts))
	for _, acc := range accounts {
		items = append(items, acc.ActorIRI)
	}
	page := map[string]any{"@context": asContext, "id": id + "?page=" + strconv.Itoa(pageNum),
		"type": "OrderedCollectionPage", "partOf": id, "totalItems": total, "orderedItems": items}
	if pageNum*collectionPageSize < total {
		page["next"] = id + "?page=" + strconv.Itoa(pageNum+1)
	}
	writeActivityJSON(w, http.StatusOK, page)
}
