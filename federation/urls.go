package federation

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// URLs is the node's URL layout. It is Mastodon's layout, so that people and
// tools that guess URLs (and links pasted from Mastodon habits) find things:
// actors at /users/NAME, posts at /users/NAME/statuses/ID, pages at /@NAME.
type URLs struct {
	base string // public URL, no trailing slash
}

// NewURLs builds the layout on a public URL such as https://chapter.example.
func NewURLs(publicURL string) URLs {
	return URLs{base: strings.TrimRight(publicURL, "/")}
}

// Base is the public URL without a trailing slash.
func (u URLs) Base() string { return u.base }

// Host is host[:port] of the public URL: the domain of every handle here.
func (u URLs) Host() string {
	p, err := url.Parse(u.base)
	if err != nil {
		return ""
	}
	return p.Host
}

// Actor is a local account's actor id.
func (u URLs) Actor(username string) string { return u.base + "/users/" + username }

// KeyID is the id of a local actor's public key.
func (u URLs) KeyID(username string) string { return u.Actor(username) + "#main-key" }

// Inbox is a local actor's personal inbox.
func (u URLs) Inbox(username string) string { return u.Actor(username) + "/inbox" }

// SharedInbox receives activities for every actor of the node.
func (u URLs) SharedInbox() string { return u.base + "/inbox" }

// Outbox lists a local actor's activities.
func (u URLs) Outbox(username string) string { return u.Actor(username) + "/outbox" }

// Followers is a local actor's followers collection.
func (u URLs) Followers(username string) string { return u.Actor(username) + "/followers" }

// Following is a local actor's following collection.
func (u URLs) Following(username string) string { return u.Actor(username) + "/following" }

// Profile is a local account's page for people.
func (u URLs) Profile(username string) string { return u.base + "/@" + username }

// Post is a local post's ActivityPub id.
func (u URLs) Post(username string, id int64) string {
	return u.Actor(username) + "/statuses/" + strconv.FormatInt(id, 10)
}

// PostPage is a local post's page for people.
func (u URLs) PostPage(username string, id int64) string {
	return u.Profile(username) + "/" + strconv.FormatInt(id, 10)
}

// Avatar is the default avatar image.
func (u URLs) Avatar() string { return u.base + "/static/avatar.png" }

// ParseLocalActor returns the username of a local actor IRI, or "" when
// iri is not one.
func (u URLs) ParseLocalActor(iri string) string {
	rest, ok := strings.CutPrefix(iri, u.base+"/users/")
	if !ok || rest == "" || strings.ContainsAny(rest, "/#?") {
		return ""
	}
	return rest
}

// ParseLocalPost returns the id of a local post IRI, or 0.
func (u URLs) ParseLocalPost(iri string) int64 {
	rest, ok := strings.CutPrefix(iri, u.base+"/users/")
	if !ok {
		return 0
	}
	_, idPart, ok := strings.Cut(rest, "/statuses/")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// activityID makes ids for activities that have no page of their own.
func (u URLs) activityID(actor *chapter.Account, kind string, parts ...any) string {
	s := u.Actor(actor.Username) + "#" + kind
	for _, p := range parts {
		s += fmt.Sprintf("/%v", p)
	}
	return s
}
