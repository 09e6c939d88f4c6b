package chapter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The organization's tree. Linking is plain ActivityPub: the child's Group
// follows the parent's Group (statements flow down), the parent approves
// and follows back (posts flow up). Levels strictly increase upward, which
// rules out cycles: a node can only name a parent of a higher level.

// LinkParent resolves the configured parent and asks to join it. It checks
// that the parent is a Chapterhouse node of a higher level that is not one
// of our own children, and leaves a previously configured parent. Calling it
// again re-sends a pending request and changes nothing once linked.
func (s *Service) LinkParent(ctx context.Context) (*Link, error) {
	if s.node.Parent == "" {
		return nil, nil
	}
	if s.resolver == nil {
		return nil, fmt.Errorf("parent %q: federation is not available: %w", s.node.Parent, ErrInvalid)
	}
	parent, err := s.resolver.Resolve(ctx, s.node.Parent)
	if err != nil {
		return nil, fmt.Errorf("parent %q is unreachable: %w", s.node.Parent, err)
	}
	if err := s.checkParent(ctx, parent); err != nil {
		return nil, err
	}
	g, err := s.Group(ctx)
	if err != nil {
		return nil, err
	}
	parents, err := s.store.Links(ctx, RoleParent)
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	for _, l := range parents {
		if l.AccountID == parent.ID {
			if l.State == LinkLinked {
				return l, nil
			}
			continue
		}
		// The configuration names another parent now: leave the old one.
		if err := s.leave(ctx, g, l); err != nil {
			return nil, err
		}
	}
	// The link is recorded first: our actor document names the parent from
	// it, and the parent reads that document when our Follow arrives.
	l := &Link{AccountID: parent.ID, Account: parent, Role: RoleParent, State: LinkPending, CreatedAt: s.Clock()}
	if err := s.store.PutLink(ctx, l); err != nil {
		return nil, fmt.Errorf("record parent %q: %w", parent.Acct(), err)
	}
	f, err := s.FollowRemote(ctx, g.ID, parent.ActorIRI)
	if err != nil {
		return nil, fmt.Errorf("ask parent %q: %w", parent.Acct(), err)
	}
	if f.State == FollowAccepted {
		l.State = LinkLinked
		if err := s.store.PutLink(ctx, l); err != nil {
			return nil, fmt.Errorf("record parent %q: %w", parent.Acct(), err)
		}
	}
	return l, nil
}

// checkParent applies the hierarchy rules to a would-be parent.
func (s *Service) checkParent(ctx context.Context, parent *Account) error {
	if parent.Local() {
		return fmt.Errorf("parent %q is this node itself: %w", s.node.Parent, ErrInvalid)
	}
	if parent.Kind != KindGroup || parent.Level.Rank() == 0 {
		return fmt.Errorf("parent %q is not a Chapterhouse node (a %s without a level): %w",
			parent.Acct(), parent.Kind, ErrInvalid)
	}
	if parent.Level.Rank() <= s.node.Level.Rank() {
		return fmt.Errorf("parent %q is a %s node, not above this %s node: %w",
			parent.Acct(), parent.Level, s.node.Level, ErrInvalid)
	}
	if l, err := s.store.Link(ctx, parent.ID); err == nil && l.Role == RoleChild {
		return fmt.Errorf("parent %q is a child of this node: that would be a cycle: %w", parent.Acct(), ErrInvalid)
	}
	return nil
}

// LeaveParent stops following the parent and forgets the link.
func (s *Service) LeaveParent(ctx context.Context) error {
	g, err := s.Group(ctx)
	if err != nil {
		return err
	}
	parents, err := s.store.Links(ctx, RoleParent)
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	for _, l := range parents {
		if err := s.leave(ctx, g, l); err != nil {
			return err
		}
	}
	return nil
}

// leave undoes the Group's follow of a linked node and forgets the link.
func (s *Service) leave(ctx context.Context, g *Account, l *Link) error {
	if err := s.unfollow(ctx, g, l.Account); err != nil {
		return err
	}
	if err := s.store.RemoveLink(ctx, l.AccountID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("forget link with %q: %w", l.Account.Acct(), err)
	}
	return nil
}

// unfollow sends Undo{Follow} for a follow by a local account and drops it.
func (s *Service) unfollow(ctx context.Context, local, remote *Account) error {
	f, err := s.store.Follow(ctx, local.ID, remote.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow of %q: %w", remote.Acct(), err)
	}
	out, err := s.pub.Publish(ctx, Event{Type: EventUnfollowed, Actor: local, Object: remote, Follow: f})
	if err != nil {
		return fmt.Errorf("describe unfollow of %q: %w", remote.Acct(), err)
	}
	if err := s.store.RemoveFollow(ctx, local.ID, remote.ID, out); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("unfollow %q: %w", remote.Acct(), err)
	}
	return nil
}

// isChildRequest tells whether a follow of our Group comes from a node
// that names us as its parent.
func (s *Service) isChildRequest(g, follower *Account) bool {
	return follower.Kind == KindGroup && follower.Level.Rank() > 0 && follower.ParentIRI == g.ActorIRI
}

// receiveChildRequest records a node asking to be our member chapter. A
// child that is not below us, or is our own parent, is refused with a
// Reject, so it gets a clear answer and no link.
func (s *Service) receiveChildRequest(ctx context.Context, g, child *Account, activityIRI string) (*Follow, error) {
	f := &Follow{FollowerID: child.ID, TargetID: g.ID, State: FollowPending, ActivityIRI: activityIRI, CreatedAt: s.Clock()}
	refuse := ""
	if child.Level.Rank() >= s.node.Level.Rank() {
		refuse = fmt.Sprintf("a %s node cannot be the child of a %s node", child.Level, s.node.Level)
	} else if l, err := s.store.Link(ctx, child.ID); err == nil && l.Role == RoleParent {
		refuse = "it is this node's parent: that would be a cycle"
	}
	if refuse != "" {
		if err := s.store.PutFollow(ctx, f, nil); err != nil {
			return nil, fmt.Errorf("child request of %q: %w", child.Acct(), err)
		}
		if err := s.RejectFollower(ctx, g.ID, child.ActorIRI); err != nil {
			return nil, err
		}
		if l, err := s.store.Link(ctx, child.ID); err == nil && l.Role == RoleChild {
			// A linked child that now claims a level at or above ours is
			// no longer our child: end the link both ways.
			if err := s.leave(ctx, g, l); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("child request of %q refused: %s: %w", child.Acct(), refuse, ErrInvalid)
	}
	if existing, err := s.store.Link(ctx, child.ID); err == nil && existing.State == LinkLinked {
		// Asked again (it did not see our Accept): accept again.
		if err := s.acceptFollow(ctx, g, child, f); err != nil {
			return nil, err
		}
		return f, nil
	}
	if err := s.store.PutFollow(ctx, f, nil); err != nil {
		return nil, fmt.Errorf("child request of %q: %w", child.Acct(), err)
	}
	l := &Link{AccountID: child.ID, Account: child, Role: RoleChild, State: LinkPending, CreatedAt: s.Clock()}
	if err := s.store.PutLink(ctx, l); err != nil {
		return nil, fmt.Errorf("record child %q: %w", child.Acct(), err)
	}
	if s.node.AutoApproveChildren {
		if _, err := s.ApproveChild(ctx, child.ActorIRI); err != nil {
			return nil, err
		}
		f.State = FollowAccepted
		return f, nil
	}
	return f, s.notifyFollow(ctx, g, child, NotifyFollowReq)
}

// ApproveChild links a pending child: its follow is accepted and the
// Group follows it back, so its posts reach us to be relayed up.
func (s *Service) ApproveChild(ctx context.Context, ref string) (*Link, error) {
	g, err := s.Group(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.childLink(ctx, ref)
	if err != nil {
		return nil, err
	}
	f, err := s.store.Follow(ctx, l.AccountID, g.ID)
	if err != nil {
		return nil, fmt.Errorf("follow by child %q: %w", l.Account.Acct(), err)
	}
	if err := s.acceptFollow(ctx, g, l.Account, f); err != nil {
		return nil, err
	}
	if _, err := s.FollowRemote(ctx, g.ID, l.Account.ActorIRI); err != nil {
		return nil, fmt.Errorf("follow back child %q: %w", l.Account.Acct(), err)
	}
	l.State = LinkLinked
	if err := s.store.PutLink(ctx, l); err != nil {
		return nil, fmt.Errorf("link child %q: %w", l.Account.Acct(), err)
	}
	return l, nil
}

// DetachChild ends a child's membership: its follow is rejected and ours
// undone, so nothing flows either way any more.
func (s *Service) DetachChild(ctx context.Context, ref string) error {
	g, err := s.Group(ctx)
	if err != nil {
		return err
	}
	l, err := s.childLink(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.RejectFollower(ctx, g.ID, l.Account.ActorIRI); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return s.leave(ctx, g, l)
}

// childLink finds the link of a child by actor IRI or handle.
func (s *Service) childLink(ctx context.Context, ref string) (*Link, error) {
	a, err := s.store.AccountByIRI(ctx, ref)
	if errors.Is(err, ErrNotFound) && s.resolver != nil {
		a, err = s.resolver.Resolve(ctx, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("child %q: %w", ref, err)
	}
	l, err := s.store.Link(ctx, a.ID)
	if err != nil || l.Role != RoleChild {
		return nil, fmt.Errorf("%q is not a child of this node: %w", ref, ErrNotFound)
	}
	return l, nil
}

// Children lists pending and linked children.
func (s *Service) Children(ctx context.Context) ([]*Link, error) {
	ls, err := s.store.Links(ctx, RoleChild)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	return ls, nil
}

// linkAnswered records a parent's or child's Accept or Reject of our
// Group's follow.
func (s *Service) linkAnswered(ctx context.Context, remote *Account, accepted bool) error {
	l, err := s.store.Link(ctx, remote.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("link with %q: %w", remote.Acct(), err)
	}
	if !accepted {
		if err := s.store.RemoveLink(ctx, remote.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("forget link with %q: %w", remote.Acct(), err)
		}
		if l.Role == RoleChild {
			// A child that refuses our follow-back does not want its posts
			// relayed: its own follow of us ends too, not half a link.
			g, err := s.Group(ctx)
			if err != nil {
				return err
			}
			if err := s.RejectFollower(ctx, g.ID, remote.ActorIRI); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return nil
	}
	if l.Role == RoleParent {
		l.State = LinkLinked
		return s.store.PutLink(ctx, l)
	}
	return nil
}

// linkUndone ends a link when the other node unfollowed us: a child that
// left, or a parent that detached us.
func (s *Service) linkUndone(ctx context.Context, g, remote *Account) error {
	l, err := s.store.Link(ctx, remote.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("link with %q: %w", remote.Acct(), err)
	}
	return s.leave(ctx, g, l)
}

// ReceiveRelay takes a post that a linked node announced: a child relaying
// its subtree's posts up, or the parent sending a statement down. The post
// (already fetched, sanitized, with its Author) is stored once; a child's
// public post is announced to our followers, a parent's when
// node.relay_parent_posts says so. A post we already have is never relayed
// again, and a relay never goes back to the nodes it came through. handled
// is false when from is not a linked node: the Announce is then an
// ordinary boost.
func (s *Service) ReceiveRelay(ctx context.Context, from *Account, p *Post, via []string) (handled bool, err error) {
	l, err := s.store.Link(ctx, from.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && l.State != LinkLinked) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("link with %q: %w", from.Acct(), err)
	}
	if err := s.store.TouchLink(ctx, from.ID, s.Clock()); err != nil {
		return true, fmt.Errorf("touch link with %q: %w", from.Acct(), err)
	}
	existing, err := s.store.PostByIRI(ctx, p.IRI)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return true, fmt.Errorf("post %q: %w", p.IRI, err)
	}
	if existing != nil {
		if existing.Deleted() || existing.Author == nil || existing.Author.Local() || existing.Announced || len(existing.Via) > 0 {
			return true, nil // ours, or relayed already: at most once
		}
		// Kept before for another reason (a reply, a followed author) but
		// never relayed: relay it now, once.
		p = existing
	}
	g, err := s.Group(ctx)
	if err != nil {
		return true, err
	}
	p.Via = append(slices.Clone(via), from.ActorIRI)
	if slices.Contains(p.Via, g.ActorIRI) {
		return true, nil // it already passed through here
	}
	if existing == nil {
		p.AccountID = p.Author.ID
		p.ID = s.ids.Next(s.Clock())
		if p.CreatedAt.IsZero() || p.CreatedAt.After(s.Clock()) {
			p.CreatedAt = s.Clock()
		}
		p.UpdatedAt = p.CreatedAt
	}
	relay := p.Visibility == VisibilityPublic && (l.Role == RoleChild || s.node.RelayParentPosts)
	p.Announced = relay
	var out []Outgoing
	if relay {
		exclude := append(slices.Clone(p.Via), p.Author.ActorIRI)
		if out, err = s.pub.Publish(ctx, Event{Type: EventPostAnnounced, Actor: g, Post: p, Exclude: exclude}); err != nil {
			return true, fmt.Errorf("describe relay of %q: %w", p.IRI, err)
		}
	}
	if existing != nil {
		if err := s.store.UpdatePost(ctx, p, out); err != nil {
			return true, fmt.Errorf("relay kept post %q: %w", p.IRI, err)
		}
		return true, nil
	}
	if err := s.store.CreatePost(ctx, p, out); errors.Is(err, ErrConflict) {
		return true, nil // a concurrent relay of the same post won
	} else if err != nil {
		return true, fmt.Errorf("save relayed post %q: %w", p.IRI, err)
	}
	return true, nil
}

// SubtreeTimeline lists the public posts of a node's subtree, as a parent
// sees them: ref names the node ("@handle@host" or its Group's actor URL).
// This node itself means everything it shows; a descendant means the posts
// that came up through it. A node this one has never heard of is
// ErrNotFound.
func (s *Service) SubtreeTimeline(ctx context.Context, ref string, q TimelineQuery) ([]*Post, error) {
	g, err := s.Group(ctx)
	if err != nil {
		return nil, err
	}
	node, err := s.NodeAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	if node.ID == g.ID {
		return s.PublicTimeline(ctx, q)
	}
	q.Via = node.ActorIRI
	q.Visibilities = []Visibility{VisibilityPublic}
	q.Limit = clampLimit(q.Limit, 20, 40)
	posts, err := s.store.Timeline(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("timeline of %q: %w", ref, err)
	}
	return posts, nil
}

// ReceiveRelayedDelete takes a linked node's word that a post it relayed is
// gone. The caller has checked at the source (the post's id answers 410 or
// 404): a node cannot delete another server's post on its own say-so.
func (s *Service) ReceiveRelayedDelete(ctx context.Context, from *Account, iri string) error {
	l, err := s.store.Link(ctx, from.ID)
	if err != nil || l.State != LinkLinked {
		return fmt.Errorf("deletion relayed by %q, not a linked node: %w", from.Acct(), ErrForbidden)
	}
	p, err := s.store.PostByIRI(ctx, iri)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", iri, err)
	}
	if p.Deleted() || p.Author == nil || p.Author.Local() {
		return nil
	}
	return s.withdraw(ctx, p)
}

// NodeAccount finds the Group of a node this node knows, by "@handle@host"
// or actor URL: itself, its parent, its descendants. Anything else, a
// person included, is ErrNotFound.
func (s *Service) NodeAccount(ctx context.Context, ref string) (*Account, error) {
	node, err := s.LookupAccount(ctx, ref)
	if errors.Is(err, ErrNotFound) || (err == nil && node.Kind != KindGroup) {
		return nil, fmt.Errorf("node %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("node %q: %w", ref, err)
	}
	return node, nil
}

// LookupAccount finds an account this node already knows, without asking
// the network: "name" or "@name" (local), "@name@host" (this host means
// local), or an actor IRI.
func (s *Service) LookupAccount(ctx context.Context, ref string) (*Account, error) {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, "/") {
		return s.store.AccountByIRI(ctx, ref)
	}
	user, host, remote := strings.Cut(strings.TrimPrefix(ref, "@"), "@")
	user = strings.ToLower(user)
	if remote && !strings.EqualFold(host, s.node.Host) {
		return s.store.AccountByHandle(ctx, user, strings.ToLower(host))
	}
	return s.store.AccountByUsername(ctx, user)
}

// ReceiveRelayedEdit takes a linked node's word that a post it relayed
// changed; fresh is the post as fetched from its source just now, so the
// content comes from the author's server, not from the relaying node.
func (s *Service) ReceiveRelayedEdit(ctx context.Context, from *Account, fresh *Post) error {
	l, err := s.store.Link(ctx, from.ID)
	if err != nil || l.State != LinkLinked {
		return fmt.Errorf("edit relayed by %q, not a linked node: %w", from.Acct(), ErrForbidden)
	}
	p, err := s.store.PostByIRI(ctx, fresh.IRI)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("post %q: %w", fresh.IRI, err)
	}
	if p.Deleted() || p.Author == nil || p.Author.Local() || p.Content == fresh.Content && p.Summary == fresh.Summary {
		return nil // nothing changed here: the edit stops travelling
	}
	return s.applyEdit(ctx, p, fresh)
}
