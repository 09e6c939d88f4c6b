package federation

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Publish implements chapter.Publisher: it describes a domain event as an
// activity and lists the inboxes it goes to. Nothing is sent here; the
// service stores the result with the change and the workers deliver it.
func (f *Federation) Publish(ctx context.Context, ev chapter.Event) ([]chapter.Outgoing, error) {
	f.docs.invalidate()
	switch ev.Type {
	case chapter.EventPostCreated:
		return f.publishPost(ctx, ev.Post, "Create")
	case chapter.EventPostUpdated:
		return f.publishPost(ctx, ev.Post, "Update")
	case chapter.EventPostAnnounced:
		return f.publishAnnounce(ctx, ev.Actor, ev.Post, ev.Exclude)
	case chapter.EventPostDeleted:
		return f.publishDelete(ctx, ev.Post)
	case chapter.EventAnnounceWithdrawn:
		return f.publishWithdraw(ctx, ev.Actor, ev.Post, ev.Exclude)
	case chapter.EventAnnounceUpdated:
		return f.publishRelayedEdit(ctx, ev.Actor, ev.Post, ev.Exclude)
	case chapter.EventProfileUpdated:
		return f.publishProfile(ctx, ev.Actor)
	case chapter.EventFollowAccepted, chapter.EventFollowRejected:
		return f.publishFollowAnswer(ev)
	case chapter.EventFollowRequested:
		return f.publishFollow(ev)
	case chapter.EventUnfollowed:
		return f.publishUnfollow(ev)
	}
	return nil, fmt.Errorf("publish: unknown event %q", ev.Type)
}

// postInboxes lists where a post goes: the author's followers (unless
// direct) and every mentioned remote actor.
func (f *Federation) postInboxes(ctx context.Context, p *chapter.Post) ([]string, error) {
	var inboxes []string
	if p.Visibility != chapter.VisibilityDirect {
		fi, err := f.store.FollowerInboxes(ctx, p.AccountID)
		if err != nil {
			return nil, fmt.Errorf("followers of %q: %w", p.Author.Username, err)
		}
		inboxes = append(inboxes, fi...)
	}
	for _, m := range p.Mentions {
		a, err := f.store.AccountByIRI(ctx, m)
		if err != nil || a.Local() {
			continue // an unknown mention cannot be reached; a local one needs no delivery
		}
		inboxes = append(inboxes, a.DeliveryInbox())
	}
	return dedupe(inboxes), nil
}

func (f *Federation) publishPost(ctx context.Context, p *chapter.Post, verb string) ([]chapter.Outgoing, error) {
	inboxes, err := f.postInboxes(ctx, p)
	if err != nil {
		return nil, err
	}
	if verb == "Update" && p.Announced {
		// The Group's followers got the post as a boost: they get the edit.
		g, err := f.svc.Group(ctx)
		if err != nil {
			return nil, err
		}
		gi, err := f.store.FollowerInboxes(ctx, g.ID)
		if err != nil {
			return nil, fmt.Errorf("followers of the group: %w", err)
		}
		inboxes = dedupe(append(inboxes, gi...))
	}
	note := f.noteFor(ctx, p)
	addr := f.postAddressing(p)
	var act interface {
		vocab.Type
		withID
		SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
		SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
		SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
		SetActivityStreamsCc(vocab.ActivityStreamsCcProperty)
		SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
	}
	id := p.IRI + "/activity"
	if verb == "Update" {
		act = streams.NewActivityStreamsUpdate()
		id = p.IRI + "#updates/" + strconv.FormatInt(p.UpdatedAt.UnixMilli(), 10)
	} else {
		act = streams.NewActivityStreamsCreate()
	}
	setID(act, id)
	act.SetActivityStreamsActor(actorProperty(p.Author.ActorIRI))
	act.SetActivityStreamsObject(objectType(note))
	act.SetActivityStreamsTo(toProperty(addr.to))
	act.SetActivityStreamsCc(ccProperty(addr.cc))
	act.SetActivityStreamsPublished(publishedProperty(p.UpdatedAt))
	body, err := marshal(act, func(m map[string]any) {
		if obj, ok := m["object"].(map[string]any); ok {
			decorateNote(obj, p)
		}
	})
	if err != nil {
		return nil, err
	}
	return one(id, p.AccountID, body, inboxes), nil
}

// publishAnnounce is the Group boosting a post, with the post itself as the
// object: Mastodon shows an Announce of a Note as a boost, and ignores an
// Announce that wraps a Create (FEP-1b12 groups send both for that reason;
// we only need the first).
//
// A post relayed through the tree carries the nodes it came through in
// "via" (our extension term), and never goes back to them: exclude lists
// their actors.
func (f *Federation) publishAnnounce(ctx context.Context, g *chapter.Account, p *chapter.Post, exclude []string) ([]chapter.Outgoing, error) {
	inboxes, err := f.groupInboxes(ctx, g, exclude)
	if err != nil {
		return nil, err
	}
	if p.Author != nil && !p.Author.Local() && !slices.Contains(exclude, p.Author.ActorIRI) {
		inboxes = append(inboxes, p.Author.DeliveryInbox())
	}
	id := f.announceID(g, p)
	a := streams.NewActivityStreamsAnnounce()
	setID(a, id)
	a.SetActivityStreamsActor(actorProperty(g.ActorIRI))
	a.SetActivityStreamsObject(objectIRI(p.IRI))
	a.SetActivityStreamsTo(toProperty([]string{publicIRI}))
	a.SetActivityStreamsCc(ccProperty([]string{f.urls.Followers(g.Username), p.Author.ActorIRI}))
	a.SetActivityStreamsPublished(publishedProperty(f.now()))
	body, err := marshal(a, func(m map[string]any) {
		if len(p.Via) > 0 {
			m["via"] = p.Via
		}
	})
	if err != nil {
		return nil, err
	}
	return one(id, g.ID, body, dedupe(inboxes)), nil
}

// announceID names the Group's boost of a post; it is derived, so the
// outbox can list the boost again with the same id.
func (f *Federation) announceID(g *chapter.Account, p *chapter.Post) string {
	return f.urls.Actor(g.Username) + "/announces/" + strconv.FormatInt(p.ID, 10)
}

// publishDelete tells everyone who got the post, including the followers of
// the Group that boosted it, that it is gone.
func (f *Federation) publishDelete(ctx context.Context, p *chapter.Post) ([]chapter.Outgoing, error) {
	inboxes, err := f.postInboxes(ctx, p)
	if err != nil {
		return nil, err
	}
	if p.Announced {
		if g, err := f.svc.Group(ctx); err == nil {
			gi, err := f.store.FollowerInboxes(ctx, g.ID)
			if err != nil {
				return nil, fmt.Errorf("followers of the group: %w", err)
			}
			inboxes = dedupe(append(inboxes, gi...))
		}
	}
	id := p.IRI + "#delete"
	d := streams.NewActivityStreamsDelete()
	setID(d, id)
	d.SetActivityStreamsActor(actorProperty(p.Author.ActorIRI))
	d.SetActivityStreamsObject(objectType(tombstone(p.IRI, f.now())))
	d.SetActivityStreamsTo(toProperty([]string{publicIRI}))
	d.SetActivityStreamsCc(ccProperty([]string{f.urls.Followers(p.Author.Username)}))
	body, err := marshal(d, nil)
	if err != nil {
		return nil, err
	}
	return one(id, p.AccountID, body, inboxes), nil
}

func (f *Federation) publishProfile(ctx context.Context, a *chapter.Account) ([]chapter.Outgoing, error) {
	inboxes, err := f.store.FollowerInboxes(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("followers of %q: %w", a.Username, err)
	}
	if len(inboxes) == 0 {
		return nil, nil
	}
	actor, err := f.actorMap(ctx, a)
	if err != nil {
		return nil, err
	}
	delete(actor, "@context")
	id := f.urls.activityID(a, "updates", a.UpdatedAt.UnixMilli())
	u := streams.NewActivityStreamsUpdate()
	setID(u, id)
	u.SetActivityStreamsActor(actorProperty(a.ActorIRI))
	u.SetActivityStreamsTo(toProperty([]string{publicIRI}))
	body, err := marshal(u, func(m map[string]any) { m["object"] = actor })
	if err != nil {
		return nil, err
	}
	return one(id, a.ID, body, inboxes), nil
}

func (f *Federation) publishFollowAnswer(ev chapter.Event) ([]chapter.Outgoing, error) {
	follow := followActivity(ev.Follow.ActivityIRI, ev.Object.ActorIRI, ev.Actor.ActorIRI)
	var act interface {
		vocab.Type
		withID
		SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
		SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
		SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
	}
	kind := "accepts"
	if ev.Type == chapter.EventFollowRejected {
		act, kind = streams.NewActivityStreamsReject(), "rejects"
	} else {
		act = streams.NewActivityStreamsAccept()
	}
	id := f.urls.activityID(ev.Actor, kind, "follows", ev.Object.ID, f.now().UnixMilli())
	setID(act, id)
	act.SetActivityStreamsActor(actorProperty(ev.Actor.ActorIRI))
	act.SetActivityStreamsObject(objectType(follow))
	act.SetActivityStreamsTo(toProperty([]string{ev.Object.ActorIRI}))
	body, err := marshal(act, nil)
	if err != nil {
		return nil, err
	}
	return one(id, ev.Actor.ID, body, []string{personalInbox(ev.Object)}), nil
}

func (f *Federation) publishFollow(ev chapter.Event) ([]chapter.Outgoing, error) {
	id := f.urls.activityID(ev.Actor, "follows", ev.Object.ID, f.now().UnixMilli())
	ev.Follow.ActivityIRI = id
	body, err := marshal(followActivity(id, ev.Actor.ActorIRI, ev.Object.ActorIRI), nil)
	if err != nil {
		return nil, err
	}
	return one(id, ev.Actor.ID, body, []string{personalInbox(ev.Object)}), nil
}

func (f *Federation) publishUnfollow(ev chapter.Event) ([]chapter.Outgoing, error) {
	id := f.urls.activityID(ev.Actor, "unfollows", ev.Object.ID, f.now().UnixMilli())
	u := streams.NewActivityStreamsUndo()
	setID(u, id)
	u.SetActivityStreamsActor(actorProperty(ev.Actor.ActorIRI))
	u.SetActivityStreamsObject(objectType(followActivity(ev.Follow.ActivityIRI, ev.Actor.ActorIRI, ev.Object.ActorIRI)))
	body, err := marshal(u, nil)
	if err != nil {
		return nil, err
	}
	return one(id, ev.Actor.ID, body, []string{personalInbox(ev.Object)}), nil
}

// personalInbox is the inbox of one actor: answers to follows go there, as
// they concern that actor alone.
func personalInbox(a *chapter.Account) string {
	if a.InboxIRI != "" {
		return a.InboxIRI
	}
	return a.SharedInboxIRI
}

func one(id string, signer int64, body []byte, inboxes []string) []chapter.Outgoing {
	if len(inboxes) == 0 {
		return nil
	}
	return []chapter.Outgoing{{ActivityIRI: id, SignerID: signer, Body: body, Inboxes: inboxes}}
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
