package chapter

import (
	"context"
	"time"
)

// LinkRole is what another node is to this one in the organization's tree.
type LinkRole string

// Link roles.
const (
	RoleParent LinkRole = "parent"
	RoleChild  LinkRole = "child"
)

// LinkState is how far a link between two nodes has come.
type LinkState string

// Link states.
const (
	// LinkPending: a child asked to join, or we asked our parent, and the
	// other side has not approved yet.
	LinkPending LinkState = "pending"
	// LinkLinked: both sides follow each other; posts flow up, statements down.
	LinkLinked LinkState = "linked"
)

// Link is this node's relation to another node of the tree: its parent, or
// one of its member chapters. It is distinct from an ordinary follow: a
// child's posts are relayed upward, a follower's are not.
type Link struct {
	AccountID int64 // the other node's Group account
	Account   *Account
	Role      LinkRole
	State     LinkState
	CreatedAt time.Time
	// LastActivityAt is when the other node last sent us something.
	LastActivityAt time.Time
}

// LinkStore keeps the node's links to its parent and children.
type LinkStore interface {
	// PutLink inserts or updates the link with l.AccountID.
	PutLink(ctx context.Context, l *Link) error
	// RemoveLink deletes the link with accountID; ErrNotFound when none.
	RemoveLink(ctx context.Context, accountID int64) error
	// Link returns the link with accountID, Account filled.
	Link(ctx context.Context, accountID int64) (*Link, error)
	// Links lists links in a role (any state), oldest first, Account filled.
	Links(ctx context.Context, role LinkRole) ([]*Link, error)
	// TouchLink records activity from the linked node.
	TouchLink(ctx context.Context, accountID int64, at time.Time) error
}
