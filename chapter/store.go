package chapter

import (
	"context"
	"time"
)

// Outgoing is an activity waiting to be delivered, written to the store in
// the same transaction as the change that caused it, so that an answer to a
// member means the fediverse will hear of it, even across a crash.
type Outgoing struct {
	ActivityIRI string
	// SignerID is the local account whose key signs the deliveries.
	SignerID int64
	Body     []byte
	// Inboxes are the distinct inbox URLs to deliver to (shared inboxes
	// where the servers have them).
	Inboxes []string
}

// Delivery is one queued request: one activity to one inbox.
type Delivery struct {
	ID            int64
	ActivityIRI   string
	SignerID      int64
	Body          []byte
	Inbox         string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	LastError     string
}

// InboxItem is an activity received in an inbox, verified and stored before
// the sender is answered 202, then processed by a worker.
type InboxItem struct {
	ID          int64
	ActivityIRI string
	ActorIRI    string
	Body        []byte
	ReceivedAt  time.Time
}

// TimelineQuery selects posts for a timeline, with Mastodon's paging:
// MaxID returns older posts, SinceID and MinID newer ones (MinID the
// oldest-first page right after it).
type TimelineQuery struct {
	MaxID   int64
	SinceID int64
	MinID   int64
	Limit   int
	// AccountID, when set, keeps only that author's posts.
	AccountID int64
	// NodeOnly keeps posts that belong on the node's public pages: local
	// posts and remote posts the Group announced.
	NodeOnly bool
	// Visibilities, when set, keeps only these.
	Visibilities []Visibility
	// ExcludeReplies drops replies.
	ExcludeReplies bool
	// Via, when set, keeps posts that came through the node with this
	// Group actor IRI (its subtree's posts, on a parent node).
	Via string
}

// AccountStore keeps accounts: local members, the node's Group, and remote
// actors we have met.
type AccountStore interface {
	// CreateAccount inserts a; ErrConflict when the username (per host) or
	// actor IRI is taken. It sets a.ID.
	CreateAccount(ctx context.Context, a *Account) error
	// UpdateAccount saves every mutable field of a and queues out.
	UpdateAccount(ctx context.Context, a *Account, out []Outgoing) error
	// UpsertRemoteAccount inserts or refreshes a remote actor by ActorIRI,
	// keeping the Role and State this node gave it; it sets a.ID, a.Role and a.State.
	UpsertRemoteAccount(ctx context.Context, a *Account) error
	// DeleteAccount removes a remote account with its posts, follows,
	// interactions and the notifications they caused.
	DeleteAccount(ctx context.Context, id int64) error
	Account(ctx context.Context, id int64) (*Account, error)
	// AccountByUsername finds a local account.
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	// AccountByHandle finds a remote account by username and host.
	AccountByHandle(ctx context.Context, username, host string) (*Account, error)
	AccountByIRI(ctx context.Context, iri string) (*Account, error)
	AccountByKeyID(ctx context.Context, keyID string) (*Account, error)
	// Members lists accounts in a membership state, local and remote,
	// oldest first.
	Members(ctx context.Context, state State, limit, offset int) ([]*Account, error)
	// CountMembers counts active members, local and remote, not the
	// node's own Group.
	CountMembers(ctx context.Context) (int, error)
}

// KeyStore keeps the RSA keys of local accounts. Private keys never leave
// the store except to sign.
type KeyStore interface {
	// SetKey stores the key pair and the public half on the account.
	SetKey(ctx context.Context, accountID int64, privatePEM, publicPEM string) error
	// PrivateKey returns the PEM private key; ErrNotFound if not generated yet.
	PrivateKey(ctx context.Context, accountID int64) (string, error)
	// AccountsWithoutKey lists local accounts still waiting for a key.
	AccountsWithoutKey(ctx context.Context, limit int) ([]int64, error)
}

// PostStore keeps posts and tombstones.
type PostStore interface {
	// CreatePost inserts p (with p.ID preset) and queues out in the same
	// transaction; ErrConflict when the IRI exists. Replies that arrived
	// before p and name its IRI are attached to it.
	CreatePost(ctx context.Context, p *Post, out []Outgoing) error
	// UpdatePost saves content, summary, sensitivity, language, updated
	// time and the Announced flag.
	UpdatePost(ctx context.Context, p *Post, out []Outgoing) error
	// DeletePost turns the post into a tombstone (content cleared,
	// DeletedAt set) and removes the notifications about it.
	DeletePost(ctx context.Context, id int64, at time.Time, out []Outgoing) error
	// Post returns a post with its Author, tombstones included.
	Post(ctx context.Context, id int64) (*Post, error)
	PostByIRI(ctx context.Context, iri string) (*Post, error)
	// Replies lists the live direct replies to a post, oldest first.
	Replies(ctx context.Context, postID int64) ([]*Post, error)
	// CountReplies counts them.
	CountReplies(ctx context.Context, postID int64) (int, error)
	// Timeline lists live posts, newest first (oldest first with MinID).
	Timeline(ctx context.Context, q TimelineQuery) ([]*Post, error)
	// CountPosts counts an account's live posts; accountID 0 counts all
	// local posts.
	CountPosts(ctx context.Context, accountID int64) (int, error)
}

// FollowStore keeps follow relationships in both directions.
type FollowStore interface {
	// PutFollow inserts or updates the follow (keyed by follower and
	// target) and queues out.
	PutFollow(ctx context.Context, f *Follow, out []Outgoing) error
	// RemoveFollow deletes the follow; ErrNotFound when there is none.
	RemoveFollow(ctx context.Context, followerID, targetID int64, out []Outgoing) error
	Follow(ctx context.Context, followerID, targetID int64) (*Follow, error)
	// Followers lists the accounts following target in a state, oldest first.
	Followers(ctx context.Context, targetID int64, state FollowState, limit, offset int) ([]*Account, error)
	// Following lists the accounts follower follows in a state.
	Following(ctx context.Context, followerID int64, state FollowState, limit, offset int) ([]*Account, error)
	CountFollowers(ctx context.Context, targetID int64) (int, error)
	CountFollowing(ctx context.Context, followerID int64) (int, error)
	// FollowerInboxes returns the distinct delivery inboxes (shared inbox,
	// else inbox) of the accepted remote followers of target.
	FollowerInboxes(ctx context.Context, targetID int64) ([]string, error)
	// RemoveFollowersAt removes the follows of the remote accounts whose
	// inbox or shared inbox is inbox: what a 410 Gone from it means.
	RemoveFollowersAt(ctx context.Context, inbox string) (int, error)
}

// InteractionStore keeps likes and boosts of posts.
type InteractionStore interface {
	// AddInteraction records i; created is false when its ActivityIRI, or
	// the same kind by the same account on the same post, was already there.
	AddInteraction(ctx context.Context, i *Interaction) (created bool, err error)
	// RemoveInteraction deletes the like or boost of accountID on postID.
	RemoveInteraction(ctx context.Context, kind InteractionKind, accountID, postID int64) error
	CountInteractions(ctx context.Context, postID int64, kind InteractionKind) (int, error)
}

// NotificationStore keeps members' notifications.
type NotificationStore interface {
	// AddNotification records n unless one with the same DedupingKey
	// exists; it sets n.ID when created.
	AddNotification(ctx context.Context, n *Notification) (created bool, err error)
	// Notifications lists an account's notifications newest first, with
	// From and Post filled, skipping those whose post was deleted.
	Notifications(ctx context.Context, accountID, maxID int64, limit int) ([]*Notification, error)
}

// TokenStore keeps API bearer tokens, hashed.
type TokenStore interface {
	CreateToken(ctx context.Context, accountID int64, hash string) error
	AccountByTokenHash(ctx context.Context, hash string) (*Account, error)
}

// QueueStore is the durable delivery queue and the incoming inbox.
type QueueStore interface {
	// Enqueue writes activities and one delivery per (activity, inbox);
	// a pair already queued is not queued twice.
	Enqueue(ctx context.Context, out []Outgoing) error
	// ClaimDeliveries returns up to limit deliveries due at now and leases
	// them until now+lease, so that concurrent workers skip them.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// DeliveryDone removes a delivered request.
	DeliveryDone(ctx context.Context, id int64) error
	// RetryDelivery records a failure and when to try next.
	RetryDelivery(ctx context.Context, id int64, lastError string, next time.Time) error
	// DropDelivery gives up on a delivery.
	DropDelivery(ctx context.Context, id int64, reason string) error
	// CountDeliveries counts the deliveries still queued.
	CountDeliveries(ctx context.Context) (int, error)
	// InstanceFailed records a failed request to host and returns since
	// when it has been failing without a success.
	InstanceFailed(ctx context.Context, host string, at time.Time) (since time.Time, err error)
	// InstanceSucceeded clears host's failure streak and dead mark.
	InstanceSucceeded(ctx context.Context, host string) error
	// MarkInstanceDead marks host dead: deliveries to it are skipped.
	MarkInstanceDead(ctx context.Context, host string, at time.Time) error
	InstanceDead(ctx context.Context, host string) (bool, error)

	// SaveInbox stores an incoming activity; created is false when its
	// ActivityIRI was seen before (idempotence).
	SaveInbox(ctx context.Context, item *InboxItem) (created bool, err error)
	// PendingInbox lists unprocessed items, oldest first.
	PendingInbox(ctx context.Context, limit int) ([]*InboxItem, error)
	// InboxDone marks an item processed, with the error text if it failed.
	InboxDone(ctx context.Context, id int64, errText string) error
}

// DomainStore keeps the domains this node refuses to federate with.
type DomainStore interface {
	BlockDomain(ctx context.Context, host string) error
	DomainBlocked(ctx context.Context, host string) (bool, error)
	BlockedDomains(ctx context.Context) ([]string, error)
}

// Store is everything the node persists. Package store implements it on
// SQLite.
type Store interface {
	AccountStore
	KeyStore
	PostStore
	FollowStore
	InteractionStore
	NotificationStore
	TokenStore
	QueueStore
	DomainStore
	LinkStore
	MembershipStore
}
