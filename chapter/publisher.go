package chapter

import "context"

// EventType names a change that the fediverse should hear of.
type EventType string

// Events the service asks the Publisher to turn into activities.
const (
	// EventPostCreated: a local member posted (Create{Note} by the member).
	EventPostCreated EventType = "post_created"
	// EventPostAnnounced: the Group boosts a post (Announce of the Note).
	EventPostAnnounced EventType = "post_announced"
	// EventPostUpdated: a local post was edited (Update{Note}).
	EventPostUpdated EventType = "post_updated"
	// EventPostDeleted: a local post was deleted (Delete{Tombstone}).
	EventPostDeleted EventType = "post_deleted"
	// EventAnnounceWithdrawn: a post the Group boosted is gone at its
	// source; the Group takes its boost back and passes the deletion on.
	EventAnnounceWithdrawn EventType = "announce_withdrawn"
	// EventAnnounceUpdated: a post the Group boosted was edited at its
	// source; the Group tells the followers who got the boost.
	EventAnnounceUpdated EventType = "announce_updated"
	// EventProfileUpdated: a local account changed (Update{Person|Group}).
	EventProfileUpdated EventType = "profile_updated"
	// EventFollowAccepted: Actor accepts Object's follow (Accept{Follow}).
	EventFollowAccepted EventType = "follow_accepted"
	// EventFollowRejected: Actor rejects Object's follow (Reject{Follow}).
	EventFollowRejected EventType = "follow_rejected"
	// EventFollowRequested: Actor (local) follows Object (remote).
	EventFollowRequested EventType = "follow_requested"
	// EventUnfollowed: Actor (local) stops following Object (Undo{Follow}).
	EventUnfollowed EventType = "unfollowed"
)

// Event is one change, with the values the Publisher needs to describe it.
type Event struct {
	Type   EventType
	Actor  *Account // who acts; always local
	Post   *Post
	Follow *Follow
	Object *Account // the other party of a follow
	// Exclude lists actor IRIs whose inboxes must not receive the
	// activity: the nodes a relayed post came from, so it never echoes back.
	Exclude []string
}

// Publisher turns events into activities addressed to the right inboxes.
// Package federation implements it; the service stores what it returns in
// the same transaction as the change.
type Publisher interface {
	// LocalPostIRI names a new local post: its ActivityPub id and its page.
	LocalPostIRI(author *Account, id int64) (iri, url string)
	// LocalActorIRI names a local account's actor.
	LocalActorIRI(a *Account) string
	// Publish describes ev as activities to deliver.
	Publish(ctx context.Context, ev Event) ([]Outgoing, error)
}

// Resolver finds accounts on other servers, fetching and caching them.
// Package federation implements it with WebFinger and signed GETs.
type Resolver interface {
	// Resolve takes "@user@host", "user@host" or an actor IRI.
	Resolve(ctx context.Context, ref string) (*Account, error)
}
