package chapter

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Level is a node's place in the organization's tree.
type Level string

// The levels, from the bottom of the tree to the top.
const (
	LevelChapter       Level = "chapter"
	LevelCity          Level = "city"
	LevelNational      Level = "national"
	LevelInternational Level = "international"
)

// Rank orders levels so the hierarchy rules can compare them; 0 is unknown.
func (l Level) Rank() int {
	switch l {
	case LevelChapter:
		return 1
	case LevelCity:
		return 2
	case LevelNational:
		return 3
	case LevelInternational:
		return 4
	}
	return 0
}

// Node describes this server's own Group: the chapter (or branch) itself.
type Node struct {
	Handle  string
	Name    string
	Summary string
	Level   Level
	// Locked makes follows of the Group wait for the admin's approval.
	Locked bool
	// Host is host[:port] of the public URL: the domain part of handles.
	Host string
	// Parent names the parent node ("@handle@host" or its actor URL);
	// empty for the top of the tree.
	Parent string
	// AutoApproveChildren links any child that names this node as its
	// parent without waiting for the admin.
	AutoApproveChildren bool
	// RelayParentPosts makes the Group boost its parent's posts to its own
	// followers.
	RelayParentPosts bool
}

// Role is what a local member may do.
type Role string

// Roles.
const (
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// State is an account's membership state. Remote people who are not members
// of this chapter have StateNone.
type State string

// Membership states.
const (
	StateNone      State = ""
	StatePending   State = "pending"
	StateActive    State = "active"
	StateSuspended State = "suspended"
)

// Kind is the type of actor an account stands for.
type Kind string

// Actor kinds we distinguish.
const (
	KindPerson  Kind = "Person"
	KindGroup   Kind = "Group"
	KindService Kind = "Service"
)

// Account is any actor this node knows: a local member, the node's own
// Group, or a person or group on another server. Local accounts have an
// empty Host.
type Account struct {
	ID          int64
	Username    string
	Host        string
	Kind        Kind
	DisplayName string
	Bio         string // HTML, sanitized
	Role        Role
	State       State
	// Remote actors: where to find and reach them.
	ActorIRI       string
	InboxIRI       string
	SharedInboxIRI string
	FollowersIRI   string
	URL            string
	AvatarURL      string
	PublicKeyID    string
	PublicKeyPEM   string
	// Locked means follows of this account need approval.
	Locked bool
	// Email, Region and Application are what a person gave when applying
	// to join: the e-mail is for the admins only, the region (optional)
	// lets others find members near them, the application is the few
	// words the admins read before approving.
	Email       string
	Region      string
	Application string
	// Level and ParentIRI are what a remote Chapterhouse Group declares of
	// its place in the tree; empty for other servers' actors.
	Level     Level
	ParentIRI string
	CreatedAt time.Time
	UpdatedAt time.Time
	// FetchedAt is when a remote actor document was last fetched.
	FetchedAt time.Time
}

// Local reports whether the account lives on this node.
func (a *Account) Local() bool { return a.Host == "" }

// Member reports whether the account is an active member of the chapter,
// local or remote.
func (a *Account) Member() bool { return a.State == StateActive }

// Acct is the handle in Mastodon's "acct" form: "name" for local accounts,
// "name@host" for remote ones.
func (a *Account) Acct() string {
	if a.Local() {
		return a.Username
	}
	return a.Username + "@" + a.Host
}

// DeliveryInbox is where activities for this account go: the shared inbox
// when the server has one, so one request serves all its followers.
func (a *Account) DeliveryInbox() string {
	if a.SharedInboxIRI != "" {
		return a.SharedInboxIRI
	}
	return a.InboxIRI
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_]{1,30}$`)

// reservedUsernames cannot be taken by members: they name routes or would
// let someone pass for the node's staff.
var reservedUsernames = map[string]bool{
	"api": true, "inbox": true, "outbox": true, "users": true, "nodeinfo": true,
	"well-known": true, "root": true, "system": true, "instance": true,
}

// ValidateUsername applies the username rules: 1–30 characters of a–z, 0–9
// and underscore (what Mastodon accepts for local accounts), not reserved.
func ValidateUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return fmt.Errorf("username %q: use 1 to 30 characters a-z, 0-9 or _: %w", name, ErrInvalid)
	}
	if reservedUsernames[name] {
		return fmt.Errorf("username %q is reserved: %w", name, ErrInvalid)
	}
	return nil
}

// Visibility is who may see a post, with Mastodon's four levels.
type Visibility string

// Visibilities.
const (
	VisibilityPublic    Visibility = "public"
	VisibilityUnlisted  Visibility = "unlisted"
	VisibilityFollowers Visibility = "private"
	VisibilityDirect    Visibility = "direct"
)

// ParseVisibility accepts Mastodon's names, "followers" as an alias of
// "private", and "" for the default, public.
func ParseVisibility(s string) (Visibility, error) {
	switch strings.ToLower(s) {
	case "", "public":
		return VisibilityPublic, nil
	case "unlisted":
		return VisibilityUnlisted, nil
	case "private", "followers":
		return VisibilityFollowers, nil
	case "direct":
		return VisibilityDirect, nil
	}
	return "", fmt.Errorf("visibility %q: must be public, unlisted, private or direct: %w", s, ErrInvalid)
}

// Post is a Note: a member's post or a reply, local or remote.
type Post struct {
	ID        int64
	IRI       string // the ActivityPub id
	URL       string // the page for people
	AccountID int64
	Author    *Account // filled on reads
	Content   string   // HTML, sanitized
	// Source is the text a local author typed, kept for edits.
	Source     string
	Summary    string // content warning
	Sensitive  bool
	Language   string
	Visibility Visibility
	// InReplyToID is the local id of the parent when we have it; the IRI
	// is kept even when the parent is unknown so the thread can be joined later.
	InReplyToID  int64
	InReplyToIRI string
	// Mentions are the actor IRIs the post mentions.
	Mentions []string
	// Announced is set when the node's Group boosted the post.
	Announced bool
	// Via lists the Group actors of the nodes a relayed post came through
	// on its way up to this node, the node it was first announced by
	// first; empty for posts that did not come through the tree.
	Via       []string
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time
}

// Local reports whether the post was written on this node.
func (p *Post) Local() bool { return p.Author != nil && p.Author.Local() }

// Deleted reports whether the post is a tombstone.
func (p *Post) Deleted() bool { return !p.DeletedAt.IsZero() }

// Public reports whether anyone may read the post without being addressed.
func (p *Post) Public() bool {
	return p.Visibility == VisibilityPublic || p.Visibility == VisibilityUnlisted
}

// FollowState is the state of a follow relationship.
type FollowState string

// Follow states.
const (
	FollowPending  FollowState = "pending"
	FollowAccepted FollowState = "accepted"
)

// Follow is one account following another, in either direction across the
// network: remote people following the Group or a member, and the Group
// following remote actors.
type Follow struct {
	FollowerID  int64
	TargetID    int64
	State       FollowState
	ActivityIRI string // the Follow activity's id, needed for Accept/Undo
	CreatedAt   time.Time
}

// NotificationType names what happened, with Mastodon's type names.
type NotificationType string

// Notification types.
const (
	NotifyMention   NotificationType = "mention"
	NotifyReply     NotificationType = "status"
	NotifyReblog    NotificationType = "reblog"
	NotifyFavourite NotificationType = "favourite"
	NotifyFollow    NotificationType = "follow"
	NotifyFollowReq NotificationType = "follow_request"
)

// Notification tells a local member that something happened to them.
type Notification struct {
	ID          int64
	AccountID   int64 // who is notified
	Type        NotificationType
	FromID      int64 // who did it
	From        *Account
	PostID      int64 // 0 when not about a post
	Post        *Post
	CreatedAt   time.Time
	ReadAt      time.Time
	DedupingKey string // one notification per key: repeats notify once
}

// InteractionKind is a reaction to a post from someone else.
type InteractionKind string

// Interaction kinds.
const (
	InteractionLike     InteractionKind = "like"
	InteractionAnnounce InteractionKind = "announce"
)

// Interaction is a like or a boost of a post.
type Interaction struct {
	Kind        InteractionKind
	AccountID   int64
	PostID      int64
	ActivityIRI string
	CreatedAt   time.Time
}
