package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file holds the website's pages (home, profile, post with its
// thread) and the views they hand to the templates. Handlers read through
// chapter.Service, build a view and render it; site.go does the rest.

// sitePageSize is how many posts a page of posts shows.
const sitePageSize = 20

// siteExcerptLength is how many characters of a post describe it in a
// title or a link preview.
const siteExcerptLength = 160

// levelMessages name the levels of the tree in the message files.
var levelMessages = map[chapter.Level]string{
	chapter.LevelChapter:       "LevelChapter",
	chapter.LevelCity:          "LevelCity",
	chapter.LevelNational:      "LevelNational",
	chapter.LevelInternational: "LevelInternational",
}

// authorView is an account as pages show it.
type authorView struct {
	Name     string
	Username string
	Host     string // the server the account lives on
	URL      string // its page: ours for local accounts
	Avatar   string
	Group    bool
}

// Handle is the account's fediverse address, @name@server.
func (a authorView) Handle() string { return "@" + a.Username + "@" + a.Host }

// postView is a post as pages show it.
type postView struct {
	*siteLang
	ID          int64
	URL         string // the post's page: ours for local posts
	Author      authorView
	Content     template.HTML // sanitized again on the way out
	Summary     string        // the content warning; the content hides behind it
	Language    string
	CreatedISO  string
	CreatedText string
	Edited      bool
	Main        bool // the post a thread page is about
	// ReplyLink, on a thread page for a signed-in member, opens the reply
	// form for this comment.
	ReplyLink string
}

// threadNode is a reply with the replies to it, for threaded lists.
type threadNode struct {
	*postView
	Replies []*threadNode
}

// nodeLink is another node of the tree: this node's parent or a child.
type nodeLink struct {
	Name, Handle, URL, Level string
}

// homeView is the node's home page.
type homeView struct {
	*sitePage
	Name     string
	Bio      template.HTML
	Level    string
	Members  int
	Handle   string
	Parent   *nodeLink
	Children []nodeLink
	// Compose is the form to write a post, for members.
	Compose *composeBox
	postList
}

// profileView is a member's or the Group's page.
type profileView struct {
	*sitePage
	Account  authorView
	Bio      template.HTML
	Handle   string
	Since    string
	SinceISO string
	postList
}

// postList is a page of posts with links to the pages around it.
type postList struct {
	Posts []*postView
	// Older and Newest link to the next page of older posts and back to
	// the first page; empty when there is none.
	Older, Newest string
}

// postPageView is a post's page: the post with its thread, and for a
// signed-in member what they can do with it.
type postPageView struct {
	*sitePage
	Post      *postView
	Ancestors []*postView
	Replies   []*threadNode
	IRI       string
	// Reply is the reply form; Following tells whether the member follows
	// the thread; Own and Remove offer editing and deleting to the
	// author and removal to admins.
	Reply     *composeBox
	Following bool
	Own       bool
	Remove    string
	Base      string // the post's path, which its forms post under
}

// home serves GET /: what the node is, where it sits in the tree, how to
// follow it, and its latest public posts.
func (s *Site) home(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	ctx := r.Context()
	g, err := s.svc.Group(ctx)
	if err != nil {
		return err
	}
	node := s.svc.Node()
	v := &homeView{sitePage: pg, Name: pg.SiteName, Bio: s.safeHTML(g.Bio),
		Handle: "@" + node.Handle + "@" + s.host}
	if id := levelMessages[node.Level]; id != "" {
		v.Level = pg.T(id)
	}
	if v.Members, err = s.svc.Store().CountMembers(ctx); err != nil {
		return fmt.Errorf("count members: %w", err)
	}
	if v.Parent, v.Children, err = s.treeLinks(ctx, pg.siteLang); err != nil {
		return err
	}
	if v.postList, err = s.postList(r, pg.siteLang, 0); err != nil {
		return err
	}
	if pg.me != nil {
		v.Compose = &composeBox{siteLang: pg.siteLang, Form: s.composeFields(pg.siteLang, "compose", false, false),
			CSRF: pg.CSRF, Action: "/compose", Submit: pg.T("Publish")}
	}
	pg.Title = v.Name
	pg.Description = excerpt(htmlToText(g.Bio), siteExcerptLength)
	pg.Canonical = s.url("/")
	pg.ActivityJSON = g.ActorIRI
	pg.OG = &openGraph{Title: v.Name, Description: pg.Description, URL: pg.Canonical,
		Type: "website", Image: s.url("/static/avatar.png")}
	return s.render(w, pg, "home", http.StatusOK, v)
}

// treeLinks lists the node's linked parent and children. Pending links are
// not shown: the other side has not agreed yet.
func (s *Site) treeLinks(ctx context.Context, l *siteLang) (*nodeLink, []nodeLink, error) {
	link := func(lk *chapter.Link) nodeLink {
		a := lk.Account
		n := nodeLink{Name: displayName(a), Handle: "@" + a.Username + "@" + a.Host, URL: a.URL}
		if n.URL == "" {
			n.URL = a.ActorIRI
		}
		if id := levelMessages[a.Level]; id != "" {
			n.Level = l.T(id)
		}
		return n
	}
	parents, err := s.svc.Store().Links(ctx, chapter.RoleParent)
	if err != nil {
		return nil, nil, fmt.Errorf("parent link: %w", err)
	}
	var parent *nodeLink
	for _, lk := range parents {
		if lk.State == chapter.LinkLinked && lk.Account != nil {
			p := link(lk)
			parent = &p
		}
	}
	children, err := s.svc.Store().Links(ctx, chapter.RoleChild)
	if err != nil {
		return nil, nil, fmt.Errorf("child links: %w", err)
	}
	var kids []nodeLink
	for _, lk := range children {
		if lk.State == chapter.LinkLinked && lk.Account != nil {
			kids = append(kids, link(lk))
		}
	}
	return parent, kids, nil
}

// profile serves GET /@NAME: a local member's or the Group's page with
// their public posts. For the Group these are the node's public timeline:
// what it shares of its members and its subtree.
func (s *Site) profile(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	ctx := r.Context()
	a, err := s.localAccount(ctx, mux.Vars(r)["username"])
	if err != nil {
		return err
	}
	if wantsActivity(r) {
		http.Redirect(w, r, a.ActorIRI, http.StatusFound)
		return nil
	}
	v := &profileView{sitePage: pg, Account: s.author(a), Bio: s.safeHTML(a.Bio),
		SinceISO: atomTime(a.CreatedAt), Since: pg.Date(a.CreatedAt)}
	v.Handle = v.Account.Handle()
	var only int64
	if a.Kind != chapter.KindGroup {
		only = a.ID
	}
	if v.postList, err = s.postList(r, pg.siteLang, only); err != nil {
		return err
	}
	pg.Title = v.Account.Name
	pg.Description = excerpt(htmlToText(a.Bio), siteExcerptLength)
	pg.Canonical = s.url("/@" + a.Username)
	pg.ActivityJSON = a.ActorIRI
	pg.OG = &openGraph{Title: v.Account.Name + " (" + v.Handle + ")", Description: pg.Description,
		URL: pg.Canonical, Type: "profile", Image: s.url("/static/avatar.png")}
	return s.render(w, pg, "profile", http.StatusOK, v)
}

// localAccount finds the active local account a page is about; the
// suspended and the pending have no page, as they have no actor.
func (s *Site) localAccount(ctx context.Context, username string) (*chapter.Account, error) {
	a, err := s.svc.Store().AccountByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", username, err)
	}
	if a.State != chapter.StateActive {
		return nil, fmt.Errorf("account %q is %s: %w", username, a.State, chapter.ErrNotFound)
	}
	return a, nil
}

// postList reads the page of public posts that ?max_id= asks for: the
// node's (accountID 0) or one author's.
func (s *Site) postList(r *http.Request, l *siteLang, accountID int64) (postList, error) {
	var maxID int64
	if v := r.URL.Query().Get("max_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return postList{}, fmt.Errorf("max_id %q: %w", v, chapter.ErrInvalid)
		}
		maxID = id
	}
	posts, err := s.svc.PublicTimeline(r.Context(),
		chapter.TimelineQuery{MaxID: maxID, Limit: sitePageSize, AccountID: accountID})
	if err != nil {
		return postList{}, err
	}
	newestFirst(posts)
	list := postList{Posts: make([]*postView, 0, len(posts))}
	for _, p := range posts {
		list.Posts = append(list.Posts, s.postView(l, p))
	}
	if len(posts) == sitePageSize {
		list.Older = "?max_id=" + strconv.FormatInt(posts[len(posts)-1].ID, 10)
	}
	if maxID != 0 {
		list.Newest = r.URL.EscapedPath()
	}
	return list, nil
}

// postPage serves GET /@NAME/ID: a local post with its thread, the
// ancestors above it and the replies threaded below it. A signed-in
// member also sees the posts addressed to them, and forms to reply and
// follow the thread.
func (s *Site) postPage(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.pathPost(r, pg.me)
	if err != nil {
		return err
	}
	if wantsActivity(r) {
		http.Redirect(w, r, p.IRI, http.StatusFound)
		return nil
	}
	return s.renderPostPage(w, r, pg, p, nil, http.StatusOK)
}

// renderPostPage draws a post's page; reply, when not nil, is a reply
// form sent back with what to fix.
func (s *Site) renderPostPage(w http.ResponseWriter, r *http.Request, pg *sitePage, p *chapter.Post, reply *form, status int) error {
	ctx := r.Context()
	ancestors, descendants, err := s.svc.Context(ctx, pg.me, p.ID)
	if err != nil {
		if errors.Is(err, chapter.ErrGone) || errors.Is(err, chapter.ErrNotFound) {
			return err
		}
		return fmt.Errorf("thread of post %d: %w", p.ID, err)
	}
	v := &postPageView{sitePage: pg, Post: s.postView(pg.siteLang, p), IRI: p.IRI, Base: s.postPath(p)}
	v.Post.Main = true
	for _, a := range ancestors {
		v.Ancestors = append(v.Ancestors, s.postView(pg.siteLang, a))
	}
	v.Replies = s.thread(pg.siteLang, p.ID, descendants)
	if me := pg.me; me != nil {
		// Every comment can be answered: its Reply link reopens this page
		// with the form addressed to it.
		var target *chapter.Post
		want, _ := strconv.ParseInt(r.URL.Query().Get("reply_to"), 10, 64)
		if reply != nil && reply.F("in_reply_to") != nil {
			want, _ = strconv.ParseInt(reply.F("in_reply_to").Value, 10, 64)
		}
		for _, d := range descendants {
			if d.ID == want {
				target = d
			}
		}
		setReplyLinks(v.Replies, v.Base)
		v.Reply = s.replyBox(pg, p, reply)
		if target != nil {
			fld := v.Reply.Form.F("in_reply_to")
			if fld == nil {
				fld = v.Reply.Form.add(&field{Name: "in_reply_to", Kind: "hidden"})
			}
			fld.Value = strconv.FormatInt(target.ID, 10)
			v.Reply.ReplyingTo = s.postView(pg.siteLang, target).Author.Name
		}
		if v.Following, err = s.svc.FollowsThread(ctx, me.ID, p.ID); err != nil {
			return fmt.Errorf("thread follow of post %d: %w", p.ID, err)
		}
		v.Own = p.AccountID == me.ID
		if !v.Own && me.Role == chapter.RoleAdmin {
			v.Remove = "/admin?post=" + strconv.FormatInt(p.ID, 10) + "#remove-heading"
		}
	}

	pg.Title = pg.T("PostTitle", "Name", v.Post.Author.Name)
	pg.Description = p.Summary
	if strings.TrimSpace(pg.Description) == "" {
		pg.Description = excerpt(htmlToText(p.Content), siteExcerptLength)
	}
	pg.Canonical = s.url(v.Post.URL)
	pg.ActivityJSON = p.IRI
	pg.OG = &openGraph{Title: v.Post.Author.Name + " (" + v.Post.Author.Handle() + ")",
		Description: pg.Description, URL: pg.Canonical, Type: "article", Image: s.url("/static/avatar.png")}
	return s.render(w, pg, "post", status, v)
}

// setReplyLinks gives every comment of a thread its Reply link.
func setReplyLinks(nodes []*threadNode, base string) {
	for _, n := range nodes {
		n.ReplyLink = base + "?reply_to=" + strconv.FormatInt(n.ID, 10) + "#write-reply-heading"
		setReplyLinks(n.Replies, base)
	}
}

// thread nests descendants (depth first, as chapter.Service.Context lists
// them) under the post they reply to. A reply whose parent is not shown (it
// is not public) is listed at the top level rather than lost.
func (s *Site) thread(l *siteLang, rootID int64, descendants []*chapter.Post) []*threadNode {
	nodes := make(map[int64]*threadNode, len(descendants))
	var top []*threadNode
	for _, p := range descendants {
		n := &threadNode{postView: s.postView(l, p)}
		nodes[p.ID] = n
		if parent := nodes[p.InReplyToID]; parent != nil && p.InReplyToID != rootID {
			parent.Replies = append(parent.Replies, n)
		} else {
			top = append(top, n)
		}
	}
	return top
}

// postView prepares a post for a page. Links within the site are
// root-relative, so pages work at whatever address they are reached; only
// canonical and preview URLs are absolute.
func (s *Site) postView(l *siteLang, p *chapter.Post) *postView {
	v := &postView{siteLang: l, ID: p.ID, Content: s.safeHTML(p.Content),
		Summary: strings.TrimSpace(p.Summary), Language: p.Language,
		CreatedISO: atomTime(p.CreatedAt), CreatedText: l.Date(p.CreatedAt), Edited: edited(p)}
	if p.Author != nil {
		v.Author = s.author(p.Author)
	}
	switch {
	case p.Author != nil && p.Author.Local():
		v.URL = "/@" + p.Author.Username + "/" + strconv.FormatInt(p.ID, 10)
	case p.URL != "":
		v.URL = p.URL
	default:
		v.URL = p.IRI
	}
	return v
}

// author prepares an account for a page. Remote accounts show the default
// avatar too: hot-linking their images would tell their servers who reads
// this page (a media proxy can come later).
func (s *Site) author(a *chapter.Account) authorView {
	v := authorView{Name: displayName(a), Username: a.Username, Host: a.Host,
		URL: a.URL, Avatar: "/static/avatar.png", Group: a.Kind == chapter.KindGroup}
	if a.Local() {
		v.Host, v.URL = s.host, "/@"+a.Username
		// An avatar uploaded here is shown from here, root-relative.
		if name, ok := strings.CutPrefix(a.AvatarURL, s.url("/media/")); ok && mediaNameRE.MatchString(name) {
			v.Avatar = "/media/" + name
		}
	} else if v.URL == "" {
		v.URL = a.ActorIRI
	}
	return v
}

// safeHTML passes stored HTML through the site's sanitizer before it is
// trusted as markup.
func (s *Site) safeHTML(h string) template.HTML {
	return template.HTML(s.sanitizer.Sanitize(h)) // sanitized just now
}
