package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file turns domain values into Mastodon's entities. Conversions live
// here only; handlers never build JSON by hand.

// timeLayout is Mastodon's timestamp: RFC 3339, milliseconds, UTC.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// none is an entity this node never has (emoji, media, tag, field): lists
// of it encode as [] and pointers to it as null.
type none struct{}

// accountJSON is Mastodon's Account entity.
type accountJSON struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	Acct           string  `json:"acct"`
	DisplayName    string  `json:"display_name"`
	Locked         bool    `json:"locked"`
	Bot            bool    `json:"bot"`
	Discoverable   bool    `json:"discoverable"`
	Group          bool    `json:"group"`
	CreatedAt      string  `json:"created_at"`
	Note           string  `json:"note"`
	URL            string  `json:"url"`
	URI            string  `json:"uri"`
	Avatar         string  `json:"avatar"`
	AvatarStatic   string  `json:"avatar_static"`
	Header         string  `json:"header"`
	HeaderStatic   string  `json:"header_static"`
	FollowersCount int     `json:"followers_count"`
	FollowingCount int     `json:"following_count"`
	StatusesCount  int     `json:"statuses_count"`
	LastStatusAt   *string `json:"last_status_at"`
	Emojis         []none  `json:"emojis"`
	Fields         []none  `json:"fields"`
}

// credentialAccountJSON is the Account a member sees of themself, with the
// source of their profile for editing.
type credentialAccountJSON struct {
	accountJSON
	Source sourceJSON `json:"source"`
}

type sourceJSON struct {
	Note                string `json:"note"`
	Privacy             string `json:"privacy"`
	Sensitive           bool   `json:"sensitive"`
	Language            string `json:"language"`
	Fields              []none `json:"fields"`
	FollowRequestsCount int    `json:"follow_requests_count"`
}

// statusJSON is Mastodon's Status entity.
type statusJSON struct {
	ID                 string        `json:"id"`
	CreatedAt          string        `json:"created_at"`
	InReplyToID        *string       `json:"in_reply_to_id"`
	InReplyToAccountID *string       `json:"in_reply_to_account_id"`
	Sensitive          bool          `json:"sensitive"`
	SpoilerText        string        `json:"spoiler_text"`
	Visibility         string        `json:"visibility"`
	Language           *string       `json:"language"`
	URI                string        `json:"uri"`
	URL                string        `json:"url"`
	RepliesCount       int           `json:"replies_count"`
	ReblogsCount       int           `json:"reblogs_count"`
	FavouritesCount    int           `json:"favourites_count"`
	EditedAt           *string       `json:"edited_at"`
	Favourited         *bool         `json:"favourited,omitempty"`
	Reblogged          *bool         `json:"reblogged,omitempty"`
	Muted              *bool         `json:"muted,omitempty"`
	Bookmarked         *bool         `json:"bookmarked,omitempty"`
	Content            string        `json:"content"`
	Text               *string       `json:"text,omitempty"`
	Reblog             *statusJSON   `json:"reblog"`
	Account            *accountJSON  `json:"account"`
	MediaAttachments   []none        `json:"media_attachments"`
	Mentions           []mentionJSON `json:"mentions"`
	Tags               []none        `json:"tags"`
	Emojis             []none        `json:"emojis"`
	Card               *none         `json:"card"`
	Poll               *none         `json:"poll"`
}

type mentionJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// contextJSON is Mastodon's Context entity: a thread around a status.
type contextJSON struct {
	Ancestors   []*statusJSON `json:"ancestors"`
	Descendants []*statusJSON `json:"descendants"`
}

// notificationJSON is Mastodon's Notification entity.
type notificationJSON struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	CreatedAt string       `json:"created_at"`
	Account   *accountJSON `json:"account"`
	Status    *statusJSON  `json:"status,omitempty"`
}

// renderer converts the values of one response, remembering the accounts
// it has rendered so that a page of forty posts by three people counts
// each person's followers once.
type renderer struct {
	ctx       context.Context
	store     chapter.Store
	publicURL string
	viewer    *chapter.Account
	accounts  map[int64]*accountJSON
	byIRI     map[string]*chapter.Account
}

func (a *API) renderer(ctx context.Context, viewer *chapter.Account) *renderer {
	return &renderer{ctx: ctx, store: a.svc.Store(), publicURL: a.publicURL, viewer: viewer,
		accounts: map[int64]*accountJSON{}, byIRI: map[string]*chapter.Account{}}
}

// accountURL is where people see an account: our profile page for local
// accounts, the remote server's page (else its actor) for others.
func (rd *renderer) accountURL(a *chapter.Account) string {
	switch {
	case a.Local():
		return rd.publicURL + "/@" + a.Username
	case a.URL != "":
		return a.URL
	}
	return a.ActorIRI
}

func (rd *renderer) account(a *chapter.Account) (*accountJSON, error) {
	if j, ok := rd.accounts[a.ID]; ok {
		return j, nil
	}
	followers, err := rd.store.CountFollowers(rd.ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("followers of account %d: %w", a.ID, err)
	}
	following, err := rd.store.CountFollowing(rd.ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("following of account %d: %w", a.ID, err)
	}
	posts, err := rd.store.CountPosts(rd.ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("posts of account %d: %w", a.ID, err)
	}
	avatar := a.AvatarURL
	if avatar == "" {
		avatar = rd.publicURL + "/static/avatar.png"
	}
	header := rd.publicURL + "/static/header.png"
	displayName := a.DisplayName
	if displayName == "" {
		displayName = a.Username
	}
	j := &accountJSON{
		ID: idString(a.ID), Username: a.Username, Acct: a.Acct(), DisplayName: displayName,
		Locked: a.Locked, Bot: a.Kind == chapter.KindService, Discoverable: true,
		Group: a.Kind == chapter.KindGroup, CreatedAt: formatTime(a.CreatedAt), Note: a.Bio,
		URL: rd.accountURL(a), URI: a.ActorIRI, Avatar: avatar, AvatarStatic: avatar,
		Header: header, HeaderStatic: header, FollowersCount: followers, FollowingCount: following,
		StatusesCount: posts, Emojis: []none{}, Fields: []none{},
	}
	rd.accounts[a.ID] = j
	return j, nil
}

func (rd *renderer) accountByID(id int64) (*accountJSON, error) {
	if j, ok := rd.accounts[id]; ok {
		return j, nil
	}
	a, err := rd.store.Account(rd.ctx, id)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", id, err)
	}
	return rd.account(a)
}

// credentialAccount is the signed-in member's own account.
func (rd *renderer) credentialAccount(a *chapter.Account) (*credentialAccountJSON, error) {
	j, err := rd.account(a)
	if err != nil {
		return nil, err
	}
	return &credentialAccountJSON{accountJSON: *j, Source: sourceJSON{
		Note: htmlToText(a.Bio), Privacy: string(chapter.VisibilityPublic), Fields: []none{},
	}}, nil
}

func (rd *renderer) status(p *chapter.Post) (*statusJSON, error) {
	var account *accountJSON
	var err error
	if p.Author != nil {
		account, err = rd.account(p.Author)
	} else {
		account, err = rd.accountByID(p.AccountID)
	}
	if err != nil {
		return nil, err
	}
	s := &statusJSON{
		ID: idString(p.ID), CreatedAt: formatTime(p.CreatedAt), Sensitive: p.Sensitive,
		SpoilerText: p.Summary, Visibility: string(p.Visibility), URI: p.IRI, URL: p.URL,
		Content: p.Content, Account: account, MediaAttachments: []none{},
		Mentions: []mentionJSON{}, Tags: []none{}, Emojis: []none{},
	}
	if s.URL == "" {
		s.URL = p.IRI
	}
	if p.Language != "" {
		s.Language = &p.Language
	}
	if edited(p) {
		at := formatTime(p.UpdatedAt)
		s.EditedAt = &at
	}
	if rd.viewer != nil {
		no := false
		s.Favourited, s.Reblogged, s.Muted, s.Bookmarked = &no, &no, &no, &no
	}
	if err := rd.fillThread(s, p); err != nil {
		return nil, err
	}
	if err := rd.fillCounts(s, p); err != nil {
		return nil, err
	}
	return s, rd.fillMentions(s, p)
}

// editGrace is how far UpdatedAt must pass CreatedAt for a post to count
// as edited: the rule federation applies to a Note's "updated". A new post
// has both set to one instant, but the post CreatePost hands back has
// CreatedAt truncated to the store's milliseconds and UpdatedAt not, so a
// plain After showed every new post as edited in the POST response.
const editGrace = time.Second

// edited reports whether p was edited after it was published.
func edited(p *chapter.Post) bool {
	return p.UpdatedAt.After(p.CreatedAt.Add(editGrace))
}

// fillThread names the parent and its author when we hold the parent.
func (rd *renderer) fillThread(s *statusJSON, p *chapter.Post) error {
	if p.InReplyToID == 0 {
		return nil
	}
	parent, err := rd.store.Post(rd.ctx, p.InReplyToID)
	if errors.Is(err, chapter.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("parent of post %d: %w", p.ID, err)
	}
	id, author := idString(parent.ID), idString(parent.AccountID)
	s.InReplyToID, s.InReplyToAccountID = &id, &author
	return nil
}

func (rd *renderer) fillCounts(s *statusJSON, p *chapter.Post) error {
	var err error
	if s.RepliesCount, err = rd.store.CountReplies(rd.ctx, p.ID); err != nil {
		return fmt.Errorf("replies to post %d: %w", p.ID, err)
	}
	if s.ReblogsCount, err = rd.store.CountInteractions(rd.ctx, p.ID, chapter.InteractionAnnounce); err != nil {
		return fmt.Errorf("boosts of post %d: %w", p.ID, err)
	}
	if s.FavouritesCount, err = rd.store.CountInteractions(rd.ctx, p.ID, chapter.InteractionLike); err != nil {
		return fmt.Errorf("likes of post %d: %w", p.ID, err)
	}
	return nil
}

// fillMentions lists the mentioned accounts we know; others are left out,
// as Mastodon leaves out mentions it could not resolve.
func (rd *renderer) fillMentions(s *statusJSON, p *chapter.Post) error {
	for _, iri := range p.Mentions {
		a, ok := rd.byIRI[iri]
		if !ok {
			var err error
			a, err = rd.store.AccountByIRI(rd.ctx, iri)
			if err != nil && !errors.Is(err, chapter.ErrNotFound) {
				return fmt.Errorf("mention %q in post %d: %w", iri, p.ID, err)
			}
			rd.byIRI[iri] = a
		}
		if a != nil {
			s.Mentions = append(s.Mentions, mentionJSON{ID: idString(a.ID), Username: a.Username,
				URL: rd.accountURL(a), Acct: a.Acct()})
		}
	}
	return nil
}

func (rd *renderer) statuses(posts []*chapter.Post) ([]*statusJSON, error) {
	list := make([]*statusJSON, 0, len(posts))
	for _, p := range posts {
		s, err := rd.status(p)
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

// notification renders n; a nil result means the post it was about is
// gone, and so is the notification.
func (rd *renderer) notification(n *chapter.Notification) (*notificationJSON, error) {
	var from *accountJSON
	var err error
	if n.From != nil {
		from, err = rd.account(n.From)
	} else {
		from, err = rd.accountByID(n.FromID)
	}
	if err != nil {
		return nil, err
	}
	j := &notificationJSON{ID: idString(n.ID), Type: string(n.Type), CreatedAt: formatTime(n.CreatedAt), Account: from}
	if n.PostID == 0 {
		return j, nil
	}
	p := n.Post
	if p == nil {
		p, err = rd.store.Post(rd.ctx, n.PostID)
		if errors.Is(err, chapter.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("post %d of notification %d: %w", n.PostID, n.ID, err)
		}
	}
	if p.Deleted() {
		return nil, nil
	}
	if j.Status, err = rd.status(p); err != nil {
		return nil, err
	}
	return j, nil
}

var (
	paragraphRE = regexp.MustCompile(`(?i)</p>\s*<p[^>]*>`)
	lineBreakRE = regexp.MustCompile(`(?i)<br\s*/?>`)
	tagRE       = regexp.MustCompile(`<[^>]*>`)
)

// htmlToText recovers plain text from the sanitized HTML of a bio: the
// source of a profile, which chapter keeps only as HTML.
func htmlToText(s string) string {
	s = paragraphRE.ReplaceAllString(s, "\n\n")
	s = lineBreakRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	return strings.TrimSpace(html.UnescapeString(s))
}
