package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// inboxRetention is how long processed inbox items are kept to recognise
// repeats: longer than senders retry (Mastodon retries for about a week).
const inboxRetention = 14 * 24 * time.Hour

// inboxPruner is the store's cleanup of old inbox items, when it has one.
type inboxPruner interface {
	PruneInbox(ctx context.Context, before time.Time) (int, error)
}

// inboxWorker processes stored inbox activities in arrival order. After a
// restart it resumes with whatever was stored but not processed.
func (f *Federation) inboxWorker(ctx context.Context) {
	var pruned time.Time
	for {
		if p, ok := f.store.(inboxPruner); ok && f.now().Sub(pruned) > time.Hour {
			n, err := p.PruneInbox(ctx, f.now().Add(-inboxRetention))
			if err != nil && ctx.Err() == nil {
				f.log.Warn("prune inbox", "error", err)
			} else if n > 0 {
				f.log.Info("pruned old inbox items", "items", n)
			}
			pruned = f.now()
		}
		items, err := f.store.PendingInbox(ctx, 100)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("list pending inbox", "error", err)
		}
		for _, it := range items {
			if ctx.Err() != nil {
				return
			}
			errText := ""
			if err := f.process(ctx, it); err != nil {
				errText = err.Error()
				f.log.Info("inbox activity not applied", "activity_id", it.ActivityIRI, "actor_iri", it.ActorIRI, "error", err)
			}
			if err := f.store.InboxDone(ctx, it.ID, errText); err != nil && ctx.Err() == nil {
				f.log.Warn("mark inbox item done", "activity_id", it.ActivityIRI, "error", err)
			}
			f.Wake() // the activity may have queued an Accept and changed collections
		}
		if len(items) == 100 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-f.inboxWake:
		case <-time.After(5 * time.Second):
		}
	}
}

// ProcessPending applies every stored inbox activity now; tests and the CLI
// use it instead of waiting for the worker.
func (f *Federation) ProcessPending(ctx context.Context) error {
	items, err := f.store.PendingInbox(ctx, 1000)
	if err != nil {
		return err
	}
	for _, it := range items {
		errText := ""
		if err := f.process(ctx, it); err != nil {
			errText = err.Error()
		}
		if err := f.store.InboxDone(ctx, it.ID, errText); err != nil {
			return err
		}
		f.Wake()
	}
	return nil
}

// process applies one verified activity to the domain. A panic in the
// conversion of a hostile document becomes an error: it must not take the
// worker, or the node, down.
func (f *Federation) process(ctx context.Context, it *chapter.InboxItem) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("processing panicked: %v: %w", r, errMalformed)
		}
	}()
	t, raw, err := parseActivity(ctx, it.Body)
	if err != nil {
		return nil // an unknown type: accepted and ignored, as the spec asks
	}
	actor, err := f.remoteActor(ctx, it.ActorIRI, false)
	if err != nil {
		return fmt.Errorf("actor %q: %w", it.ActorIRI, err)
	}
	f.reviveInstance(ctx, actor.Host)
	obj, _ := raw["object"]
	switch a := t.(type) {
	case vocab.ActivityStreamsFollow:
		target, err := f.localTarget(ctx, stringOrID(obj))
		if err != nil {
			return err
		}
		if actor.Kind == chapter.KindGroup {
			// A node asking to join reads its parent from its actor
			// document: make sure ours is current.
			if actor, err = f.remoteActor(ctx, it.ActorIRI, true); err != nil {
				return fmt.Errorf("actor %q: %w", it.ActorIRI, err)
			}
		}
		_, err = f.svc.ReceiveFollow(ctx, actor, target, it.ActivityIRI)
		return err
	case vocab.ActivityStreamsUndo:
		return f.processUndo(ctx, actor, obj)
	case vocab.ActivityStreamsAccept, vocab.ActivityStreamsReject:
		return f.processFollowAnswer(ctx, actor, obj, a.GetTypeName() == "Accept")
	case vocab.ActivityStreamsCreate:
		return f.processCreate(ctx, actor, a.GetActivityStreamsObject(), asMap(obj))
	case vocab.ActivityStreamsUpdate:
		return f.processUpdate(ctx, actor, a.GetActivityStreamsObject(), obj, asMap(obj))
	case vocab.ActivityStreamsDelete:
		return f.svc.ReceiveDelete(ctx, actor, stringOrID(obj))
	case vocab.ActivityStreamsLike:
		return f.svc.ReceiveInteraction(ctx, chapter.InteractionLike, actor, stringOrID(obj), it.ActivityIRI)
	case vocab.ActivityStreamsAnnounce:
		return f.processAnnounce(ctx, actor, stringOrID(obj), raw, it.ActivityIRI)
	case vocab.ActivityStreamsBlock:
		target, err := f.localTarget(ctx, stringOrID(obj))
		if err != nil {
			return err
		}
		return f.svc.ReceiveBlock(ctx, actor, target)
	}
	return nil // other types are accepted and ignored
}

// reviveInstance clears the dead mark of an instance that is talking to us
// again, so deliveries to it resume.
func (f *Federation) reviveInstance(ctx context.Context, host string) {
	if dead, err := f.store.InstanceDead(ctx, host); err != nil || !dead {
		return
	}
	if err := f.store.InstanceSucceeded(ctx, host); err != nil {
		f.log.Warn("revive instance", "remote_host", host, "error", err)
		return
	}
	f.healthy.Store(host, true)
	f.log.Info("instance is back, deliveries resume", "remote_host", host)
}

// localTarget is the local account an activity is about.
func (f *Federation) localTarget(ctx context.Context, iri string) (*chapter.Account, error) {
	username := f.urls.ParseLocalActor(iri)
	if username == "" {
		return nil, fmt.Errorf("object %q is not a local actor: %w", iri, chapter.ErrNotFound)
	}
	return f.store.AccountByUsername(ctx, username)
}

// processUndo reverses a Follow, Like or Announce of the same actor.
func (f *Federation) processUndo(ctx context.Context, actor *chapter.Account, obj any) error {
	m, ok := obj.(map[string]any)
	if !ok {
		return nil // Undo of a bare IRI: we cannot tell what it undoes
	}
	if by := stringOrID(m["actor"]); by != "" && by != actor.ActorIRI {
		return fmt.Errorf("undo of %q's activity by %q: %w", by, actor.ActorIRI, chapter.ErrForbidden)
	}
	inner := stringOrID(m["object"])
	switch typeName(m["type"]) {
	case "Follow":
		target, err := f.localTarget(ctx, inner)
		if err != nil {
			return err
		}
		return f.svc.ReceiveUnfollow(ctx, actor, target)
	case "Like":
		return f.svc.ReceiveUndoInteraction(ctx, chapter.InteractionLike, actor, inner)
	case "Announce":
		if l, err := f.store.Link(ctx, actor.ID); err == nil && l.State == chapter.LinkLinked {
			// A linked node taking back a relay: believe it only if the
			// post is gone at its source.
			if err := f.relayedDelete(ctx, actor, inner); err != nil && !errors.Is(err, chapter.ErrForbidden) {
				return err
			}
			return nil
		}
		return f.svc.ReceiveUndoInteraction(ctx, chapter.InteractionAnnounce, actor, inner)
	}
	return nil
}

// processFollowAnswer handles Accept or Reject of a follow one of our
// accounts sent. The Follow may be embedded or given by its id.
func (f *Federation) processFollowAnswer(ctx context.Context, actor *chapter.Account, obj any, accepted bool) error {
	follower := ""
	if m, ok := obj.(map[string]any); ok {
		if typeName(m["type"]) != "Follow" {
			return nil
		}
		follower = stringOrID(m["actor"])
		if target := stringOrID(m["object"]); target != "" && target != actor.ActorIRI {
			return fmt.Errorf("answer to a follow of %q by %q: %w", target, actor.ActorIRI, chapter.ErrForbidden)
		}
	} else if id, ok := obj.(string); ok {
		// Our follow ids are ACTOR#follows/…: the actor is the follower.
		follower, _, _ = cutFragment(id)
	}
	local, err := f.localTarget(ctx, follower)
	if err != nil {
		return err
	}
	return f.svc.ReceiveFollowAnswer(ctx, actor, local, accepted)
}

func cutFragment(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// processCreate takes a new post. The object must be embedded and written
// by the activity's actor: an object that claims another author could be a
// forgery, and a bare IRI would need a fetch we only do for replies.
func (f *Federation) processCreate(ctx context.Context, actor *chapter.Account, objs vocab.ActivityStreamsObjectProperty, raw map[string]any) error {
	if objs == nil || objs.Len() == 0 {
		return fmt.Errorf("create without object: %w", errMalformed)
	}
	o, ok := asPost(objs.At(0).GetType())
	if !ok {
		return nil // not a kind of post we show
	}
	p, audience, err := postFromObject(o, raw)
	if err != nil {
		return err
	}
	if by := attributedTo(o); by != actor.ActorIRI {
		return fmt.Errorf("post %q attributed to %q, sent by %q: %w", p.IRI, by, actor.ActorIRI, chapter.ErrForbidden)
	}
	p.Author = actor
	p.CreatedAt = clampTime(p.CreatedAt, f.now())
	_, err = f.svc.ReceivePost(ctx, p, audience)
	return err
}

// processUpdate applies an edited post or a changed profile.
func (f *Federation) processUpdate(ctx context.Context, actor *chapter.Account, objs vocab.ActivityStreamsObjectProperty, obj any, raw map[string]any) error {
	if objs == nil || objs.Len() == 0 {
		return fmt.Errorf("update without object: %w", errMalformed)
	}
	t := objs.At(0).GetType()
	if t == nil {
		return nil
	}
	switch t.GetTypeName() {
	case "Person", "Group", "Service", "Application", "Organization":
		if stringOrID(obj) != actor.ActorIRI {
			return fmt.Errorf("update of another actor by %q: %w", actor.ActorIRI, chapter.ErrForbidden)
		}
		// Refetch rather than trust the embedded copy: the key may have rotated.
		_, err := f.remoteActor(ctx, actor.ActorIRI, true)
		return err
	}
	o, ok := asPost(t)
	if !ok {
		return nil
	}
	p, _, err := postFromObject(o, raw)
	if err != nil {
		return err
	}
	if err := f.svc.ReceivePostUpdate(ctx, actor, p); errors.Is(err, chapter.ErrForbidden) {
		return err
	} else if err != nil {
		return fmt.Errorf("update %q: %w", p.IRI, err)
	}
	return nil
}
