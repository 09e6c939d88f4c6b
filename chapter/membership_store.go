package chapter

import (
	"context"
	"time"
)

// AuditEntry records one admin action, for the audit log page: who did
// what to whom, and when.
type AuditEntry struct {
	ID        int64
	ActorID   int64
	Actor     *Account // filled on reads
	Action    string   // e.g. "approve_member", "suspend_member", "remove_post", "block_domain"
	Target    string   // what it was done to: a handle, a post id, a domain
	Detail    string
	CreatedAt time.Time
}

// MembershipStore keeps what the website needs beyond federation: members'
// passwords, sign-in sessions, thread follows, unread notifications, the
// audit log and the place search.
type MembershipStore interface {
	// SetPassword stores a member's password hash (never the password).
	SetPassword(ctx context.Context, accountID int64, hash string) error
	// PasswordHash returns it; ErrNotFound when the member has none.
	PasswordHash(ctx context.Context, accountID int64) (string, error)
	// DeleteToken removes a bearer or session token by its hash;
	// ErrNotFound when there is none.
	DeleteToken(ctx context.Context, hash string) error
	// RevokeTokens deletes every token and session of an account and
	// returns how many there were.
	RevokeTokens(ctx context.Context, accountID int64) (int, error)
	// CountUnreadNotifications counts notifications not yet marked read
	// (those about deleted posts excluded).
	CountUnreadNotifications(ctx context.Context, accountID int64) (int, error)
	// MarkNotificationsRead marks an account's notifications up to upToID
	// (all when 0) read at at, and returns how many changed.
	MarkNotificationsRead(ctx context.Context, accountID, upToID int64, at time.Time) (int, error)
	// FollowThread and UnfollowThread record a member following the
	// replies of a thread (identified by its root post); both idempotent.
	FollowThread(ctx context.Context, accountID, postID int64) error
	UnfollowThread(ctx context.Context, accountID, postID int64) error
	// ThreadFollowers lists the accounts following a thread's root post.
	ThreadFollowers(ctx context.Context, postID int64) ([]int64, error)
	// FollowsThread tells whether an account follows a thread.
	FollowsThread(ctx context.Context, accountID, postID int64) (bool, error)
	// AddAudit appends an entry and sets its ID.
	AddAudit(ctx context.Context, e *AuditEntry) error
	// AuditLog lists entries newest first, before beforeID when not 0.
	AuditLog(ctx context.Context, beforeID int64, limit int) ([]*AuditEntry, error)
	// MembersByRegion finds active members whose region contains the text,
	// case-insensitively, local and remote, by display name.
	MembersByRegion(ctx context.Context, region string, limit int) ([]*Account, error)
}
