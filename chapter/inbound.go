package chapter

import (
	"context"
	"errors"
	"fmt"
)

// ReceivePost takes a post from another server (Create{Note}), already
// sanitized, with Author set to its stored remote account. audience is
// every IRI the activity addressed (to, cc, audience).
//
// A node keeps only what concerns it: replies to posts it has, posts that
// mention its accounts, posts by people its accounts follow, and its
// remote members' posts. A member's public post that addresses or mentions
// the chapter is announced by the Group; a stranger's is not.
// stored is false when the post was not kept (irrelevant or a repeat).
func (s *Service) ReceivePost(ctx context.Context, p *Post, audience []string) (stored bool, err error) {
	if p.Author == nil || p.Author.Local() {
		return false, fmt.Errorf("remote post without a remote author: %w", ErrInvalid)
	}
	p.AccountID = p.Author.ID
	if _, err := s.store.PostByIRI(ctx, p.IRI); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("post %q: %w", p.IRI, err)
	}
	g, err := s.Group(ctx)
	if err != nil {
		return false, err
	}
	var parent *Post
	if p.InReplyToIRI != "" {
		parent, err = s.store.PostByIRI(ctx, p.InReplyToIRI)
		if err == nil && !parent.Deleted() {
			p.InReplyToID = parent.ID
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("parent %q: %w", p.InReplyToIRI, err)
		} else {
			parent = nil
		}
	}
	mentioned, addressesGroup := s.localAccounts(ctx, p.Mentions, g)
	for _, iri := range audience {
		if iri == g.ActorIRI {
			addressesGroup = true
		}
	}
	followed, err := s.followedLocally(ctx, p.Author)
	if err != nil {
		return false, err
	}
	if parent == nil && len(mentioned) == 0 && !addressesGroup && !followed && !p.Author.Member() {
		return false, nil
	}
	p.Announced = p.Author.Member() && p.Visibility == VisibilityPublic && addressesGroup
	if p.CreatedAt.IsZero() || p.CreatedAt.After(s.Clock()) {
		p.CreatedAt = s.Clock()
	}
	p.UpdatedAt = p.CreatedAt
	p.ID = s.ids.Next(s.Clock())
	var out []Outgoing
	if p.Announced {
		if out, err = s.pub.Publish(ctx, Event{Type: EventPostAnnounced, Actor: g, Post: p}); err != nil {
			return false, fmt.Errorf("describe announce of %q: %w", p.IRI, err)
		}
	}
	if err := s.store.CreatePost(ctx, p, out); errors.Is(err, ErrConflict) {
		return false, nil // a concurrent delivery of the same post won
	} else if err != nil {
		return false, fmt.Errorf("save post %q: %w", p.IRI, err)
	}
	if err := s.notifyAboutPost(ctx, p, parent, mentioned); err != nil {
		return true, err
	}
	return true, s.notifyThreadFollowers(ctx, p)
}

// localAccounts maps mentioned actor IRIs to local accounts, and tells
// whether the Group is among them.
func (s *Service) localAccounts(ctx context.Context, iris []string, g *Account) (accounts []*Account, group bool) {
	for _, iri := range iris {
		if iri == g.ActorIRI {
			group = true
			continue
		}
		a, err := s.store.AccountByIRI(ctx, iri)
		if err == nil && a.Local() {
			accounts = appendAccount(accounts, a)
		}
	}
	return accounts, group
}

// followedLocally tells whether any local account follows a.
func (s *Service) followedLocally(ctx context.Context, a *Account) (bool, error) {
	n, err := s.store.CountFollowers(ctx, a.ID)
	if err != nil {
		return false, fmt.Errorf("followers of %q: %w", a.Acct(), err)
	}
	return n > 0, nil
}

// ReceivePostUpdate applies an edit (Update{Note}) from the post's author.
func (s *Service) ReceivePostUpdate(ctx context.Context, actor *Account, edit *Post) error {
	p, err := s.store.PostByIRI(ctx, edit.IRI)
	if errors.Is(err, ErrNotFound) {
		return nil // an edit of a post we never kept
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", edit.IRI, err)
	}
	if p.AccountID != actor.ID {
		return fmt.Errorf("update of %q by %q, not its author: %w", edit.IRI, actor.Acct(), ErrForbidden)
	}
	if p.Deleted() {
		return nil
	}
	return s.applyEdit(ctx, p, edit)
}

// applyEdit saves a remote post's new content and, when the Group had
// boosted it, tells the followers who got the boost that it changed, so
// the edit travels up the tree as the post did.
func (s *Service) applyEdit(ctx context.Context, p, edit *Post) error {
	p.Content, p.Summary, p.Sensitive, p.UpdatedAt = edit.Content, edit.Summary, edit.Sensitive, s.Clock()
	if edit.Language != "" {
		p.Language = edit.Language
	}
	var out []Outgoing
	if p.Announced {
		g, err := s.Group(ctx)
		if err != nil {
			return err
		}
		exclude := append(append([]string(nil), p.Via...), p.Author.ActorIRI)
		if out, err = s.pub.Publish(ctx, Event{Type: EventAnnounceUpdated, Actor: g, Post: p, Exclude: exclude}); err != nil {
			return fmt.Errorf("describe relayed edit of %q: %w", p.IRI, err)
		}
	}
	if err := s.store.UpdatePost(ctx, p, out); err != nil {
		return fmt.Errorf("update post %q: %w", p.IRI, err)
	}
	return nil
}

// ReceiveDelete handles Delete from a remote actor: of one of its posts, or
// of the actor itself (the account is gone with everything it did here).
func (s *Service) ReceiveDelete(ctx context.Context, actor *Account, objectIRI string) error {
	if objectIRI == actor.ActorIRI {
		if err := s.store.DeleteAccount(ctx, actor.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete account %q: %w", actor.Acct(), err)
		}
		return nil
	}
	p, err := s.store.PostByIRI(ctx, objectIRI)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", objectIRI, err)
	}
	if p.AccountID != actor.ID {
		return fmt.Errorf("delete of %q by %q, not its author: %w", objectIRI, actor.Acct(), ErrForbidden)
	}
	if p.Deleted() {
		return nil
	}
	return s.withdraw(ctx, p)
}

// withdraw turns a remote post into a tombstone and, when the Group had
// boosted it, takes the boost back from the followers who got it: the
// deletion travels up the tree with the post's relays.
func (s *Service) withdraw(ctx context.Context, p *Post) error {
	var out []Outgoing
	if p.Announced {
		g, err := s.Group(ctx)
		if err != nil {
			return err
		}
		exclude := append(append([]string(nil), p.Via...), p.Author.ActorIRI)
		if out, err = s.pub.Publish(ctx, Event{Type: EventAnnounceWithdrawn, Actor: g, Post: p, Exclude: exclude}); err != nil {
			return fmt.Errorf("describe withdrawal of %q: %w", p.IRI, err)
		}
	}
	if err := s.store.DeletePost(ctx, p.ID, s.Clock(), out); err != nil {
		return fmt.Errorf("delete post %q: %w", p.IRI, err)
	}
	return nil
}

// ReceiveInteraction records a like or boost of a local post and notifies
// its author once, however often the activity arrives.
func (s *Service) ReceiveInteraction(ctx context.Context, kind InteractionKind, actor *Account, objectIRI, activityIRI string) error {
	p, err := s.store.PostByIRI(ctx, objectIRI)
	if errors.Is(err, ErrNotFound) {
		return nil // not ours: nothing to count
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", objectIRI, err)
	}
	if p.Deleted() || p.Author == nil || !p.Author.Local() {
		return nil
	}
	created, err := s.store.AddInteraction(ctx, &Interaction{Kind: kind, AccountID: actor.ID, PostID: p.ID,
		ActivityIRI: activityIRI, CreatedAt: s.Clock()})
	if err != nil {
		return fmt.Errorf("%s of %q: %w", kind, objectIRI, err)
	}
	if !created || p.Author.Kind == KindGroup {
		return nil
	}
	typ := NotifyFavourite
	if kind == InteractionAnnounce {
		typ = NotifyReblog
	}
	n := &Notification{AccountID: p.AccountID, Type: typ, FromID: actor.ID, PostID: p.ID, CreatedAt: s.Clock(),
		DedupingKey: fmt.Sprintf("%s:%d:%d", typ, actor.ID, p.ID)}
	if _, err := s.store.AddNotification(ctx, n); err != nil {
		return fmt.Errorf("notify %s: %w", kind, err)
	}
	return nil
}

// ReceiveUndoInteraction removes a like or boost.
func (s *Service) ReceiveUndoInteraction(ctx context.Context, kind InteractionKind, actor *Account, objectIRI string) error {
	p, err := s.store.PostByIRI(ctx, objectIRI)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", objectIRI, err)
	}
	if err := s.store.RemoveInteraction(ctx, kind, actor.ID, p.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("undo %s of %q: %w", kind, objectIRI, err)
	}
	return nil
}
