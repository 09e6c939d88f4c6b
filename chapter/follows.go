package chapter

import (
	"context"
	"errors"
	"fmt"
)

// ReceiveFollow records a remote actor's follow of a local account. The
// Group accepts at once unless the chapter is locked, in which case the
// follow waits for the admin (and approving it makes the person a member).
func (s *Service) ReceiveFollow(ctx context.Context, follower, target *Account, activityIRI string) (*Follow, error) {
	if follower.Local() || !target.Local() {
		return nil, fmt.Errorf("follow of %q by %q: %w", target.Acct(), follower.Acct(), ErrInvalid)
	}
	if target.State != StateActive {
		return nil, fmt.Errorf("follow of %q: %w", target.Acct(), ErrNotFound)
	}
	if target.Kind == KindGroup && s.isChildRequest(target, follower) {
		return s.receiveChildRequest(ctx, target, follower, activityIRI)
	}
	f, err := s.store.Follow(ctx, follower.ID, target.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("follow of %q by %q: %w", target.Acct(), follower.Acct(), err)
	}
	if f == nil {
		f = &Follow{FollowerID: follower.ID, TargetID: target.ID, State: FollowPending, CreatedAt: s.Clock()}
	}
	f.ActivityIRI = activityIRI
	isParent := false
	if l, err := s.store.Link(ctx, follower.ID); err == nil && l.Role == RoleParent && target.Kind == KindGroup {
		isParent = true // our parent following back: part of linking, never held
	}
	if f.State == FollowAccepted || !target.Locked || isParent {
		// Accepting again is right: the follower sent Follow again because
		// it did not see our Accept.
		if err := s.acceptFollow(ctx, target, follower, f); err != nil {
			return nil, err
		}
		return f, s.notifyFollow(ctx, target, follower, NotifyFollow)
	}
	if err := s.store.PutFollow(ctx, f, nil); err != nil {
		return nil, fmt.Errorf("pending follow of %q by %q: %w", target.Acct(), follower.Acct(), err)
	}
	return f, s.notifyFollow(ctx, target, follower, NotifyFollowReq)
}

// acceptFollow accepts a follow and queues the Accept with it.
func (s *Service) acceptFollow(ctx context.Context, target, follower *Account, f *Follow) error {
	f.State = FollowAccepted
	out, err := s.pub.Publish(ctx, Event{Type: EventFollowAccepted, Actor: target, Object: follower, Follow: f})
	if err != nil {
		return fmt.Errorf("describe accept of %q: %w", follower.Acct(), err)
	}
	if err := s.store.PutFollow(ctx, f, out); err != nil {
		return fmt.Errorf("accept follow of %q by %q: %w", target.Acct(), follower.Acct(), err)
	}
	return nil
}

// notifyFollow tells a followed member, or the admins when the Group is
// followed, once per follower.
func (s *Service) notifyFollow(ctx context.Context, target, follower *Account, typ NotificationType) error {
	recipients := []*Account{target}
	if target.Kind == KindGroup {
		admins, err := s.admins(ctx)
		if err != nil {
			return err
		}
		recipients = admins
	}
	for _, to := range recipients {
		n := &Notification{AccountID: to.ID, Type: typ, FromID: follower.ID, CreatedAt: s.Clock(),
			DedupingKey: fmt.Sprintf("%s:%d:%d:to:%d", typ, follower.ID, target.ID, to.ID)}
		if _, err := s.store.AddNotification(ctx, n); err != nil {
			return fmt.Errorf("notify %q of follow: %w", to.Username, err)
		}
	}
	return nil
}

func (s *Service) admins(ctx context.Context) ([]*Account, error) {
	var admins []*Account
	for offset := 0; ; offset += 200 {
		page, err := s.store.Members(ctx, StateActive, 200, offset)
		if err != nil {
			return nil, fmt.Errorf("list admins: %w", err)
		}
		for _, a := range page {
			if a.Local() && a.Role == RoleAdmin && a.Kind != KindGroup {
				admins = append(admins, a)
			}
		}
		if len(page) < 200 {
			return admins, nil
		}
	}
}

// ApproveFollower accepts a pending follow of a local account; for the
// Group, the follower becomes a member of the chapter.
func (s *Service) ApproveFollower(ctx context.Context, targetID int64, followerRef string) (*Follow, error) {
	target, err := s.store.Account(ctx, targetID)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", targetID, err)
	}
	follower, err := s.store.AccountByIRI(ctx, followerRef)
	if err != nil {
		return nil, fmt.Errorf("follower %q: %w", followerRef, err)
	}
	f, err := s.store.Follow(ctx, follower.ID, target.ID)
	if err != nil {
		return nil, fmt.Errorf("follow by %q: %w", followerRef, err)
	}
	if err := s.acceptFollow(ctx, target, follower, f); err != nil {
		return nil, err
	}
	if target.Kind == KindGroup && follower.State == StateNone {
		follower.State = StateActive
		if err := s.store.UpdateAccount(ctx, follower, nil); err != nil {
			return nil, fmt.Errorf("make %q a member: %w", follower.Acct(), err)
		}
	}
	return f, nil
}

// RejectFollower refuses a follow and tells the follower.
func (s *Service) RejectFollower(ctx context.Context, targetID int64, followerRef string) error {
	target, err := s.store.Account(ctx, targetID)
	if err != nil {
		return fmt.Errorf("account %d: %w", targetID, err)
	}
	follower, err := s.store.AccountByIRI(ctx, followerRef)
	if err != nil {
		return fmt.Errorf("follower %q: %w", followerRef, err)
	}
	f, err := s.store.Follow(ctx, follower.ID, target.ID)
	if err != nil {
		return fmt.Errorf("follow by %q: %w", followerRef, err)
	}
	out, err := s.pub.Publish(ctx, Event{Type: EventFollowRejected, Actor: target, Object: follower, Follow: f})
	if err != nil {
		return fmt.Errorf("describe reject: %w", err)
	}
	if err := s.store.RemoveFollow(ctx, follower.ID, target.ID, out); err != nil {
		return fmt.Errorf("reject follow by %q: %w", followerRef, err)
	}
	return nil
}

// ReceiveUnfollow removes a remote actor's follow (Undo{Follow}). Undoing
// a follow that is not there changes nothing.
func (s *Service) ReceiveUnfollow(ctx context.Context, follower, target *Account) error {
	err := s.store.RemoveFollow(ctx, follower.ID, target.ID, nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("unfollow of %q by %q: %w", target.Acct(), follower.Acct(), err)
	}
	if target.Kind == KindGroup {
		// A child that left, or a parent that detached us: the link ends
		// both ways.
		return s.linkUndone(ctx, target, follower)
	}
	return nil
}

// FollowRemote makes a local account (usually the Group) follow a remote
// actor; the follow is pending until their Accept arrives.
func (s *Service) FollowRemote(ctx context.Context, localID int64, ref string) (*Follow, error) {
	if s.resolver == nil {
		return nil, fmt.Errorf("follow %q: federation is not available: %w", ref, ErrInvalid)
	}
	local, err := s.store.Account(ctx, localID)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", localID, err)
	}
	remote, err := s.resolver.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("follow %q: %w", ref, err)
	}
	f, err := s.store.Follow(ctx, local.ID, remote.ID)
	if err == nil && f.State == FollowAccepted {
		return f, nil
	}
	f = &Follow{FollowerID: local.ID, TargetID: remote.ID, State: FollowPending, CreatedAt: s.Clock()}
	out, err := s.pub.Publish(ctx, Event{Type: EventFollowRequested, Actor: local, Object: remote, Follow: f})
	if err != nil {
		return nil, fmt.Errorf("describe follow of %q: %w", ref, err)
	}
	if err := s.store.PutFollow(ctx, f, out); err != nil {
		return nil, fmt.Errorf("follow %q: %w", ref, err)
	}
	return f, nil
}

// ReceiveFollowAnswer records a remote actor's Accept (accepted) or Reject
// of a local account's follow.
func (s *Service) ReceiveFollowAnswer(ctx context.Context, remote, local *Account, accepted bool) error {
	f, err := s.store.Follow(ctx, local.ID, remote.ID)
	if err != nil {
		return fmt.Errorf("answer from %q: %w", remote.Acct(), err)
	}
	if !accepted {
		if err := s.store.RemoveFollow(ctx, local.ID, remote.ID, nil); err != nil {
			return fmt.Errorf("rejected by %q: %w", remote.Acct(), err)
		}
		return s.linkAnswered(ctx, remote, false)
	}
	f.State = FollowAccepted
	if err := s.store.PutFollow(ctx, f, nil); err != nil {
		return fmt.Errorf("accepted by %q: %w", remote.Acct(), err)
	}
	return s.linkAnswered(ctx, remote, true)
}

// ReceiveBlock ends every follow between a remote actor who blocked a local
// account and that account, as Mastodon does.
func (s *Service) ReceiveBlock(ctx context.Context, blocker, target *Account) error {
	for _, pair := range [][2]int64{{blocker.ID, target.ID}, {target.ID, blocker.ID}} {
		if err := s.store.RemoveFollow(ctx, pair[0], pair[1], nil); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("block by %q: %w", blocker.Acct(), err)
		}
	}
	return nil
}
