package chapter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxPostLength is the longest post a member may write, in characters.
const MaxPostLength = 5000

// MaxArticleLength is the longest article (a post written in Markdown).
const MaxArticleLength = 50000

// NewPost is what a member submits.
type NewPost struct {
	Text string
	// HTML, when set, is Text already rendered and sanitized by the
	// layer that took it (an article written in Markdown); Text is kept as
	// its source. Empty means Text is plain text, rendered here.
	HTML        string
	Visibility  Visibility
	InReplyToID int64
	Language    string
	Summary     string
	Sensitive   bool
}

// CreatePost publishes a local member's post. The post, its Create and, for
// a public post, the Group's Announce are stored with their deliveries in
// one transaction before this returns.
func (s *Service) CreatePost(ctx context.Context, authorID int64, np NewPost) (*Post, error) {
	author, err := s.store.Account(ctx, authorID)
	if err != nil {
		return nil, fmt.Errorf("author %d: %w", authorID, err)
	}
	if !author.Local() || author.Kind == KindGroup {
		return nil, fmt.Errorf("author %q cannot post here: %w", author.Acct(), ErrForbidden)
	}
	if author.State != StateActive {
		return nil, fmt.Errorf("author %q is %s, not an active member: %w", author.Username, author.State, ErrForbidden)
	}
	text, err := checkText(np)
	if err != nil {
		return nil, err
	}
	vis, err := ParseVisibility(string(np.Visibility))
	if err != nil {
		return nil, err
	}
	summary := strings.TrimSpace(np.Summary)
	now := s.Clock()
	p := &Post{
		ID: s.ids.Next(now), AccountID: author.ID, Author: author, Source: text,
		Summary: summary, Sensitive: np.Sensitive || summary != "",
		Language: normalizeLanguage(np.Language), Visibility: vis,
		CreatedAt: now, UpdatedAt: now,
	}
	p.IRI, p.URL = s.pub.LocalPostIRI(author, p.ID)
	var parent *Post
	if np.InReplyToID != 0 {
		parent, err = s.store.Post(ctx, np.InReplyToID)
		if err != nil || parent.Deleted() || !s.CanSee(author, parent) {
			return nil, fmt.Errorf("in_reply_to_id %d: %w", np.InReplyToID, ErrNotFound)
		}
		p.InReplyToID, p.InReplyToIRI = parent.ID, parent.IRI
	}
	mentioned := s.resolveMentions(ctx, text)
	if parent != nil && parent.Author != nil && parent.Author.ID != author.ID {
		mentioned = appendAccount(mentioned, parent.Author)
	}
	p.Content = renderText(text, mentioned, s.profileURL, s.node.Host)
	if np.HTML != "" {
		p.Content = np.HTML
	}
	for _, m := range mentioned {
		p.Mentions = append(p.Mentions, s.actorIRI(m))
	}
	// The Group boosts its members' public posts, replies included, so
	// its followers see the whole conversation of the chapter.
	p.Announced = p.Visibility == VisibilityPublic
	out, err := s.pub.Publish(ctx, Event{Type: EventPostCreated, Actor: author, Post: p})
	if err != nil {
		return nil, fmt.Errorf("describe post: %w", err)
	}
	if p.Announced {
		g, err := s.Group(ctx)
		if err != nil {
			return nil, err
		}
		more, err := s.pub.Publish(ctx, Event{Type: EventPostAnnounced, Actor: g, Post: p})
		if err != nil {
			return nil, fmt.Errorf("describe announce: %w", err)
		}
		out = append(out, more...)
	}
	if err := s.store.CreatePost(ctx, p, out); err != nil {
		return nil, fmt.Errorf("save post: %w", err)
	}
	if err := s.notifyAboutPost(ctx, p, parent, mentioned); err != nil {
		return nil, err
	}
	if err := s.notifyThreadFollowers(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// checkText applies the length rules: a post's, or an article's when the
// text comes rendered.
func checkText(np NewPost) (string, error) {
	text := strings.TrimSpace(np.Text)
	if text == "" {
		return "", fmt.Errorf("post text is empty: %w", ErrInvalid)
	}
	limit := MaxPostLength
	if np.HTML != "" {
		limit = MaxArticleLength
	}
	if n := len([]rune(text)); n > limit {
		return "", fmt.Errorf("post is %d characters, at most %d allowed: %w", n, limit, ErrInvalid)
	}
	return text, nil
}

// actorIRI names an account's actor whether it is local or remote.
func (s *Service) actorIRI(a *Account) string {
	if a.Local() {
		return s.pub.LocalActorIRI(a)
	}
	return a.ActorIRI
}

// profileURL is where a mention links: a person's page.
func (s *Service) profileURL(a *Account) string {
	if !a.Local() && a.URL != "" {
		return a.URL
	}
	return s.actorIRI(a)
}

// resolveMentions finds the accounts "@name" and "@name@host" in text
// name. Handles that cannot be resolved stay plain text, as on Mastodon.
func (s *Service) resolveMentions(ctx context.Context, text string) []*Account {
	var found []*Account
	for _, h := range parseMentions(text) {
		var a *Account
		var err error
		if h.host == "" || strings.EqualFold(h.host, s.node.Host) {
			a, err = s.store.AccountByUsername(ctx, h.user)
		} else if s.resolver != nil {
			a, err = s.resolver.Resolve(ctx, "@"+h.user+"@"+h.host)
		} else {
			continue
		}
		if err == nil {
			found = appendAccount(found, a)
		}
	}
	return found
}

func appendAccount(list []*Account, a *Account) []*Account {
	for _, b := range list {
		if b.ID == a.ID {
			return list
		}
	}
	return append(list, a)
}

// notifyAboutPost notifies the author of the parent of every reply, with
// or without a mention, and every local account mentioned. One notification
// per person per post: a reply that also mentions its parent's author
// notifies once.
func (s *Service) notifyAboutPost(ctx context.Context, p *Post, parent *Post, mentioned []*Account) error {
	notify := func(to *Account) error {
		if to == nil || !to.Local() || to.ID == p.AccountID || to.Kind == KindGroup {
			return nil
		}
		n := &Notification{AccountID: to.ID, Type: NotifyMention, FromID: p.AccountID, PostID: p.ID,
			CreatedAt: s.Clock(), DedupingKey: fmt.Sprintf("post:%d:to:%d", p.ID, to.ID)}
		if _, err := s.store.AddNotification(ctx, n); err != nil {
			return fmt.Errorf("notify %q of post %d: %w", to.Username, p.ID, err)
		}
		return nil
	}
	if parent != nil {
		if err := notify(parent.Author); err != nil {
			return err
		}
	}
	for _, m := range mentioned {
		if err := notify(m); err != nil {
			return err
		}
	}
	return nil
}

// EditPost changes the text of a local post; only its author may. The
// author's followers get an Update, and so do the Group's when it boosted
// the post, from where the edit travels up the tree.
func (s *Service) EditPost(ctx context.Context, authorID, postID int64, np NewPost) (*Post, error) {
	p, err := s.store.Post(ctx, postID)
	if err != nil || p.Deleted() {
		return nil, fmt.Errorf("post %d: %w", postID, ErrNotFound)
	}
	if p.AccountID != authorID || p.Author == nil || !p.Author.Local() {
		return nil, fmt.Errorf("post %d belongs to someone else: %w", postID, ErrForbidden)
	}
	text, err := checkText(np)
	if err != nil {
		return nil, err
	}
	mentioned := s.resolveMentions(ctx, text)
	p.Source, p.Content = text, renderText(text, mentioned, s.profileURL, s.node.Host)
	if np.HTML != "" {
		p.Content = np.HTML
	}
	p.Summary = strings.TrimSpace(np.Summary)
	p.Sensitive = np.Sensitive || p.Summary != ""
	if np.Language != "" {
		p.Language = normalizeLanguage(np.Language)
	}
	for _, m := range mentioned {
		if iri := s.actorIRI(m); !slices.Contains(p.Mentions, iri) {
			p.Mentions = append(p.Mentions, iri)
		}
	}
	p.UpdatedAt = s.Clock()
	out, err := s.pub.Publish(ctx, Event{Type: EventPostUpdated, Actor: p.Author, Post: p})
	if err != nil {
		return nil, fmt.Errorf("describe edit: %w", err)
	}
	if err := s.store.UpdatePost(ctx, p, out); err != nil {
		return nil, fmt.Errorf("save edit of post %d: %w", postID, err)
	}
	return p, nil
}

// DeletePost deletes a post. Its author may delete it, and so may an admin
// (moderation). Federated copies get a Delete.
func (s *Service) DeletePost(ctx context.Context, actorID, postID int64) (*Post, error) {
	actor, err := s.store.Account(ctx, actorID)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", actorID, err)
	}
	p, err := s.store.Post(ctx, postID)
	if err != nil {
		return nil, fmt.Errorf("post %d: %w", postID, err)
	}
	if p.Deleted() {
		return nil, fmt.Errorf("post %d: %w", postID, ErrNotFound)
	}
	if p.AccountID != actor.ID && actor.Role != RoleAdmin {
		return nil, fmt.Errorf("post %d belongs to someone else: %w", postID, ErrForbidden)
	}
	var out []Outgoing
	if p.Author != nil && p.Author.Local() {
		out, err = s.pub.Publish(ctx, Event{Type: EventPostDeleted, Actor: p.Author, Post: p})
		if err != nil {
			return nil, fmt.Errorf("describe delete: %w", err)
		}
	}
	if err := s.store.DeletePost(ctx, p.ID, s.Clock(), out); err != nil {
		return nil, fmt.Errorf("delete post %d: %w", postID, err)
	}
	return p, nil
}

// CanSee reports whether viewer (nil for an anonymous visitor or a remote
// fetch) may read p.
func (s *Service) CanSee(viewer *Account, p *Post) bool {
	if p.Deleted() {
		return false
	}
	if p.Public() {
		return true
	}
	if viewer == nil {
		return false
	}
	if viewer.ID == p.AccountID {
		return true
	}
	iri := s.actorIRI(viewer)
	for _, m := range p.Mentions {
		if m == iri {
			return true
		}
	}
	// Followers-only posts: members of the chapter are its followers' circle.
	return p.Visibility == VisibilityFollowers && p.Local() && viewer.Local() && viewer.State == StateActive
}

// Post returns a post the viewer may see. A deleted post is ErrGone, so
// object URLs can answer with a Tombstone.
func (s *Service) Post(ctx context.Context, viewer *Account, id int64) (*Post, error) {
	p, err := s.store.Post(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("post %d: %w", id, err)
	}
	if p.Deleted() {
		return p, fmt.Errorf("post %d: %w", id, ErrGone)
	}
	if !s.CanSee(viewer, p) {
		return nil, fmt.Errorf("post %d: %w", id, ErrNotFound)
	}
	return p, nil
}

// Context returns the thread around a post: its ancestors, oldest first,
// and its descendants in depth-first order, remote replies included.
func (s *Service) Context(ctx context.Context, viewer *Account, id int64) (ancestors, descendants []*Post, err error) {
	p, err := s.Post(ctx, viewer, id)
	if err != nil {
		return nil, nil, err
	}
	seen := map[int64]bool{p.ID: true}
	for cur := p; cur.InReplyToID != 0 && len(ancestors) < 100; {
		parent, err := s.store.Post(ctx, cur.InReplyToID)
		if errors.Is(err, ErrNotFound) || (err == nil && seen[parent.ID]) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("ancestor of post %d: %w", cur.ID, err)
		}
		seen[parent.ID] = true
		if s.CanSee(viewer, parent) {
			ancestors = append([]*Post{parent}, ancestors...)
		}
		cur = parent
	}
	var walk func(id int64, depth int) error
	walk = func(id int64, depth int) error {
		if depth > 100 || len(descendants) > 4000 {
			return nil
		}
		replies, err := s.store.Replies(ctx, id)
		if err != nil {
			return fmt.Errorf("replies to post %d: %w", id, err)
		}
		for _, r := range replies {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			if s.CanSee(viewer, r) {
				descendants = append(descendants, r)
			}
			if err := walk(r.ID, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(p.ID, 0); err != nil {
		return nil, nil, err
	}
	return ancestors, descendants, nil
}

// PublicTimeline lists the node's public posts: its members' posts and the
// remote posts its Group announced.
func (s *Service) PublicTimeline(ctx context.Context, q TimelineQuery) ([]*Post, error) {
	q.NodeOnly = true
	q.Visibilities = []Visibility{VisibilityPublic}
	q.Limit = clampLimit(q.Limit, 20, 40)
	posts, err := s.store.Timeline(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("public timeline: %w", err)
	}
	return posts, nil
}

func normalizeLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if tag == "" {
		return "en"
	}
	if i := strings.IndexAny(tag, "-_"); i > 0 {
		tag = tag[:i]
	}
	if len(tag) < 2 || len(tag) > 3 {
		return "en"
	}
	for _, r := range tag {
		if r < 'a' || r > 'z' {
			return "en"
		}
	}
	return tag
}
