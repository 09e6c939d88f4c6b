package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is what members do with posts on the website: write one (on
// the home page or at /compose, as a short post or a Markdown article),
// reply, edit and delete their own, follow a thread; and find members
// near them. Notifications are in site_notifications.go.

// composeBox is a form that writes a post: on the home page, /compose, a
// post's page (a reply) or the edit page. It carries the language, so the
// "compose" template translates, and the form token.
type composeBox struct {
	*siteLang
	Form    *form
	CSRF    string
	Action  string
	Submit  string
	Preview template.HTML // the rendered text, when previewing
	Editing bool          // no visibility or format to choose
	// ReplyingTo names the comment's author when the reply answers a
	// comment rather than the page's post.
	ReplyingTo string
}

// composeFields are a post's fields. Replies and edits have no format to
// choose; edits keep their visibility.
func (s *Site) composeFields(l *siteLang, id string, reply, edit bool) *form {
	f := newForm(id)
	f.add(&field{Name: "text", Kind: "textarea", Rows: 6, Label: l.T("FieldText"),
		Help: l.T("HelpText", "Max", l.Number(chapter.MaxPostLength)), Required: true})
	f.add(&field{Name: "summary", Label: l.T("FieldSummary"), Help: l.T("HelpSummary"), MaxLength: 200})
	if !edit {
		f.add(&field{Name: "visibility", Kind: "select", Label: l.T("FieldVisibility"), Options: []option{
			{Value: string(chapter.VisibilityPublic), Label: l.T("VisibilityPublic"), Selected: true},
			{Value: string(chapter.VisibilityUnlisted), Label: l.T("VisibilityUnlisted")},
			{Value: string(chapter.VisibilityFollowers), Label: l.T("VisibilityMembers")},
			{Value: string(chapter.VisibilityDirect), Label: l.T("VisibilityDirect")},
		}}).Value = string(chapter.VisibilityPublic)
	}
	lang := f.add(&field{Name: "language", Kind: "select", Label: l.T("FieldLanguage")})
	for _, sl := range s.i18n.langs {
		base, _ := sl.Tag.Base()
		lang.Options = append(lang.Options, option{Value: base.String(), Label: sl.Name})
	}
	base, _ := l.Tag.Base()
	lang.Value = base.String()
	for i := range lang.Options {
		lang.Options[i].Selected = lang.Options[i].Value == lang.Value
	}
	if !reply && !edit {
		f.add(&field{Name: "format", Kind: "select", Label: l.T("FieldFormat"), Help: l.T("HelpFormat"),
			Options: []option{{Value: "post", Label: l.T("FormatPost"), Selected: true},
				{Value: "markdown", Label: l.T("FormatArticle")}}}).Value = "post"
	}
	return f.optional(l)
}

// newPost reads a filled compose form into what chapter takes, with the
// form's errors set for what it would refuse.
//
// An article is Markdown: it is rendered here (goldmark, then the
// sanitizer) and handed to chapter as HTML beside its source, with the
// article's longer limit.
func (s *Site) newPost(l *siteLang, f *form) chapter.NewPost {
	np := chapter.NewPost{Text: strings.TrimSpace(f.F("text").Value),
		Summary: strings.TrimSpace(f.F("summary").Value)}
	limit := chapter.MaxPostLength
	if format := f.F("format"); format != nil && format.Value == "markdown" && np.Text != "" {
		np.HTML, limit = string(s.renderMarkdown(np.Text)), chapter.MaxArticleLength
	}
	if n := len([]rune(np.Text)); n == 0 {
		f.set("text", l.T("ErrPostEmpty"))
	} else if n > limit {
		f.set("text", l.T("ErrTooLong", "Max", l.Number(limit)))
	}
	if len([]rune(np.Summary)) > 500 {
		f.set("summary", l.T("ErrTooLong", "Max", l.Number(500)))
	}
	if v := f.F("visibility"); v != nil {
		vis, err := chapter.ParseVisibility(v.Value)
		if err != nil {
			f.set("visibility", l.T("ErrChoice"))
		}
		np.Visibility = vis
	}
	if lang := f.F("language"); lang != nil {
		np.Language = lang.Value
	}
	return np
}

// preview renders a compose form's text as it will read.
func (s *Site) preview(f *form) template.HTML {
	text := strings.TrimSpace(f.F("text").Value)
	if format := f.F("format"); format != nil && format.Value == "markdown" {
		return s.renderMarkdown(text)
	}
	return plainHTML(text)
}

// composeView is /compose.
type composeView struct {
	*sitePage
	Compose *composeBox
}

// composeForm serves GET /compose.
func (s *Site) composeForm(w http.ResponseWriter, _ *http.Request, pg *sitePage) error {
	return s.renderCompose(w, pg, s.composeFields(pg.siteLang, "compose", false, false), "", http.StatusOK)
}

func (s *Site) renderCompose(w http.ResponseWriter, pg *sitePage, f *form, preview template.HTML, status int) error {
	pg.Title, pg.Nav = pg.T("ComposeTitle"), "compose"
	box := &composeBox{siteLang: pg.siteLang, Form: f, CSRF: pg.CSRF, Action: "/compose",
		Submit: pg.T("Publish"), Preview: preview}
	return s.render(w, pg, "compose", status, &composeView{sitePage: pg, Compose: box})
}

// compose serves POST /compose, from the home page or /compose: publish,
// or with action=preview show the text rendered and the form again.
func (s *Site) compose(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	f := s.composeFields(pg.siteLang, "compose", false, false)
	f.fill(r.PostForm)
	np := s.newPost(pg.siteLang, f)
	if f.invalid() {
		return s.renderCompose(w, pg, f, "", http.StatusUnprocessableEntity)
	}
	if r.PostForm.Get("action") == "preview" {
		return s.renderCompose(w, pg, f, s.preview(f), http.StatusOK)
	}
	p, err := s.svc.CreatePost(r.Context(), pg.me.ID, np)
	if errors.Is(err, chapter.ErrInvalid) {
		s.log.Debug("post refused", "error", err)
		f.Error = pg.T("ErrFormInvalid")
		return s.renderCompose(w, pg, f, "", http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, s.postPath(p), http.StatusSeeOther)
	return nil
}

// postPath is the page of a local post.
func (s *Site) postPath(p *chapter.Post) string {
	return "/@" + p.Author.Username + "/" + strconv.FormatInt(p.ID, 10)
}

// pathPost finds the local post /@NAME/ID names, if viewer may see it. A
// deleted post comes back with chapter.ErrGone.
func (s *Site) pathPost(r *http.Request, viewer *chapter.Account) (*chapter.Post, error) {
	vars := mux.Vars(r)
	id, err := strconv.ParseInt(vars["id"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("post id %q: %w", vars["id"], chapter.ErrNotFound)
	}
	p, err := s.svc.Post(r.Context(), viewer, id)
	if p != nil && (p.Author == nil || !p.Author.Local() || p.Author.Username != strings.ToLower(vars["username"])) {
		// Only local posts have pages here, each at its author's path.
		return nil, fmt.Errorf("post %d is not by local %q: %w", id, vars["username"], chapter.ErrNotFound)
	}
	return p, err
}

// ownPost is pathPost for the post's author only.
func (s *Site) ownPost(r *http.Request, me *chapter.Account) (*chapter.Post, error) {
	p, err := s.pathPost(r, me)
	if err != nil {
		return nil, err
	}
	if p.AccountID != me.ID {
		return nil, fmt.Errorf("post %d is not %q's: %w", p.ID, me.Username, chapter.ErrForbidden)
	}
	return p, nil
}

// replyBox is the reply form of a post's page.
func (s *Site) replyBox(pg *sitePage, p *chapter.Post, f *form) *composeBox {
	if f == nil {
		f = s.composeFields(pg.siteLang, "reply", true, false)
		vis := f.F("visibility")
		vis.Value = string(p.Visibility)
		for i := range vis.Options {
			vis.Options[i].Selected = vis.Options[i].Value == vis.Value
		}
		if p.Language != "" && f.F("language").Value != p.Language {
			f.F("language").Value = p.Language
			for i, o := range f.F("language").Options {
				f.F("language").Options[i].Selected = o.Value == p.Language
			}
		}
	}
	return &composeBox{siteLang: pg.siteLang, Form: f, CSRF: pg.CSRF, Action: s.postPath(p) + "/reply",
		Submit: pg.T("ReplySubmit")}
}

// reply serves POST /@NAME/ID/reply.
func (s *Site) reply(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	parent, err := s.pathPost(r, pg.me)
	if err != nil {
		return err
	}
	f := s.composeFields(pg.siteLang, "reply", true, false)
	f.add(&field{Name: "in_reply_to", Kind: "hidden"})
	f.fill(r.PostForm)
	np := s.newPost(pg.siteLang, f)
	np.InReplyToID = parent.ID
	if id, err := strconv.ParseInt(f.F("in_reply_to").Value, 10, 64); err == nil && id != 0 {
		// A comment of this page's thread: chapter checks the member may
		// see it; a post of another thread is refused like a missing one.
		c, err := s.svc.Post(r.Context(), pg.me, id)
		if err != nil || s.svc.ThreadRootID(r.Context(), c) != s.svc.ThreadRootID(r.Context(), parent) {
			return fmt.Errorf("reply to comment %d: %w", id, chapter.ErrNotFound)
		}
		np.InReplyToID = c.ID
	}
	if f.invalid() {
		return s.renderPostPage(w, r, pg, parent, f, http.StatusUnprocessableEntity)
	}
	p, err := s.svc.CreatePost(r.Context(), pg.me.ID, np)
	if errors.Is(err, chapter.ErrInvalid) {
		s.log.Debug("reply refused", "error", err)
		f.Error = pg.T("ErrFormInvalid")
		return s.renderPostPage(w, r, pg, parent, f, http.StatusUnprocessableEntity)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, s.postPath(parent)+"#post-"+strconv.FormatInt(p.ID, 10), http.StatusSeeOther)
	return nil
}

// editView is the page that edits a post.
type editView struct {
	*sitePage
	Compose *composeBox
	Post    *postView
}

func (s *Site) editFields(pg *sitePage, p *chapter.Post) *form {
	f := s.composeFields(pg.siteLang, "edit", true, true)
	f.F("text").Value, f.F("summary").Value = p.Source, p.Summary
	if p.Language != "" {
		lang := f.F("language")
		lang.Value = p.Language
		for i := range lang.Options {
			lang.Options[i].Selected = lang.Options[i].Value == p.Language
		}
	}
	return f
}

func (s *Site) renderEdit(w http.ResponseWriter, pg *sitePage, p *chapter.Post, f *form, status int) error {
	pg.Title = pg.T("EditTitle")
	box := &composeBox{siteLang: pg.siteLang, Form: f, CSRF: pg.CSRF, Action: s.postPath(p) + "/edit",
		Submit: pg.T("SaveChanges"), Editing: true}
	return s.render(w, pg, "edit", status, &editView{sitePage: pg, Compose: box, Post: s.postView(pg.siteLang, p)})
}

// editForm serves GET /@NAME/ID/edit to the post's author.
func (s *Site) editForm(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.ownPost(r, pg.me)
	if err != nil {
		return err
	}
	return s.renderEdit(w, pg, p, s.editFields(pg, p), http.StatusOK)
}

// edit serves POST /@NAME/ID/edit.
func (s *Site) edit(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.ownPost(r, pg.me)
	if err != nil {
		return err
	}
	f := s.editFields(pg, p)
	f.fill(r.PostForm)
	np := s.newPost(pg.siteLang, f)
	if f.invalid() {
		return s.renderEdit(w, pg, p, f, http.StatusUnprocessableEntity)
	}
	if _, err := s.svc.EditPost(r.Context(), pg.me.ID, p.ID, np); errors.Is(err, chapter.ErrInvalid) {
		s.log.Debug("edit refused", "error", err)
		f.Error = pg.T("ErrFormInvalid")
		return s.renderEdit(w, pg, p, f, http.StatusUnprocessableEntity)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, s.postPath(p), http.StatusSeeOther)
	return nil
}

// deleteView asks before deleting a post.
type deleteView struct {
	*sitePage
	Post   *postView
	Action string
}

// deleteForm serves GET /@NAME/ID/delete: the post and a button, since
// without script there is no confirmation dialog.
func (s *Site) deleteForm(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.ownPost(r, pg.me)
	if err != nil {
		return err
	}
	pg.Title = pg.T("DeleteTitle")
	v := &deleteView{sitePage: pg, Post: s.postView(pg.siteLang, p), Action: s.postPath(p) + "/delete"}
	v.Post.Main = true
	return s.render(w, pg, "delete", http.StatusOK, v)
}

// deletePost serves POST /@NAME/ID/delete. Only the author deletes here;
// admins remove others' posts from /admin, where it is logged.
func (s *Site) deletePost(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.ownPost(r, pg.me)
	if err != nil {
		return err
	}
	if _, err := s.svc.DeletePost(r.Context(), pg.me.ID, p.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/@"+pg.me.Username, http.StatusSeeOther)
	return nil
}

// followThread serves POST /@NAME/ID/follow: follow=1 to be told of
// every reply in the thread, follow=0 to stop.
func (s *Site) followThread(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	p, err := s.pathPost(r, pg.me)
	if err != nil {
		return err
	}
	if err := s.svc.FollowThread(r.Context(), pg.me.ID, p.ID, r.PostForm.Get("follow") == "1"); err != nil {
		return err
	}
	http.Redirect(w, r, s.postPath(p)+"#thread-actions", http.StatusSeeOther)
	return nil
}

// findView is /find.
type findView struct {
	*sitePage
	Form     *form
	Searched bool
	Results  []foundMember
}

// foundMember is a member found by region, here or on a node below.
type foundMember struct {
	Name, Handle, URL, Avatar, Region, Node string
}

// find serves GET /find?region=: the members of this node and of every
// node below it who gave a region that contains the text. Anyone may
// search; only members who chose to give a region can be found.
func (s *Site) find(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	f := newForm("find")
	f.add(&field{Name: "region", Type: "search", Label: pg.T("FieldRegion"), Help: pg.T("HelpFind"),
		Required: true, MaxLength: 100})
	f.fill(r.URL.Query())
	v := &findView{sitePage: pg, Form: f}
	if q := strings.TrimSpace(f.F("region").Value); q != "" {
		if pg.me == nil { // visitors only: members are known and accountable
			addr := clientAddress(r)
			if wait := s.searches.blocked(addr); wait > 0 {
				return tooManyAttempts(w, wait)
			}
			s.searches.fail(addr)
		}
		found, err := s.svc.FindMembersNear(r.Context(), q)
		switch {
		case errors.Is(err, chapter.ErrInvalid):
			f.set("region", pg.T("ErrFindShort"))
		case err != nil:
			return err
		default:
			v.Searched = true
			for _, e := range found {
				// Images from other servers would tell them who is reading.
				avatar := "/static/avatar.png"
				if e.AvatarURL != "" && strings.HasPrefix(e.AvatarURL, s.publicURL+"/") {
					avatar = e.AvatarURL
				}
				v.Results = append(v.Results, foundMember{Name: e.Name, Handle: "@" + e.Handle, URL: e.URL,
					Avatar: avatar, Region: e.Region, Node: e.Node})
			}
		}
	}
	pg.Title, pg.Nav = pg.T("FindTitle"), "find"
	return s.render(w, pg, "find", http.StatusOK, v)
}
