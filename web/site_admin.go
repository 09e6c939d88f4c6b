package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is the admins' pages: applications to approve or decline,
// member chapters waiting to be linked, suspending and reactivating
// members, removing posts, blocking domains, and the audit log of all of
// it. Every action goes through chapter.Service, which checks the admin
// again and writes the audit entry.

// applicationView is one pending application.
type applicationView struct {
	ID                          int64
	Name, Username, Email, Note string
	Region                      string
	CreatedISO, CreatedText     string
}

// childView is a node waiting to be linked as a member chapter.
type childView struct {
	nodeLink
	ActorIRI string
}

// adminView is /admin.
type adminView struct {
	*sitePage
	Applications []applicationView
	Children     []childView
	Suspended    []authorView
	Blocked      []string
	Member       *form
	Post         *form
	Domain       *form
}

func (s *Site) adminForms(l *siteLang) (member, post, domain *form) {
	member = newForm("member")
	member.add(&field{Name: "account", Label: l.T("FieldAccount"), Help: l.T("HelpAccount"), Required: true,
		MaxLength: 300, Dir: "ltr"})
	member.add(&field{Name: "action", Kind: "select", Label: l.T("FieldAction"), Options: []option{
		{Value: "suspend", Label: l.T("Suspend"), Selected: true}, {Value: "reactivate", Label: l.T("Reactivate")}}}).Value = "suspend"
	member.add(&field{Name: "reason", Label: l.T("FieldReason"), MaxLength: 500})
	post = newForm("remove")
	post.add(&field{Name: "post", Label: l.T("FieldPost"), Help: l.T("HelpPost"), Required: true,
		MaxLength: 2000, Dir: "ltr"})
	post.add(&field{Name: "reason", Label: l.T("FieldReason"), MaxLength: 500})
	domain = newForm("block")
	domain.add(&field{Name: "domain", Label: l.T("FieldDomain"), Help: l.T("HelpDomain"), Required: true,
		MaxLength: 253, Dir: "ltr"})
	domain.add(&field{Name: "reason", Label: l.T("FieldReason"), MaxLength: 500})
	return member.optional(l), post.optional(l), domain.optional(l)
}

// adminPage serves GET /admin. ?post=ID fills the removal form, which a
// post's page links to for admins.
func (s *Site) adminPage(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	notice(r, pg)
	member, post, domain := s.adminForms(pg.siteLang)
	if id := r.URL.Query().Get("post"); id != "" {
		post.F("post").Value = id
	}
	return s.renderAdmin(w, r, pg, &adminView{Member: member, Post: post, Domain: domain}, http.StatusOK)
}

// renderAdmin fills the lists of /admin around forms v already holds.
func (s *Site) renderAdmin(w http.ResponseWriter, r *http.Request, pg *sitePage, v *adminView, status int) error {
	ctx := r.Context()
	v.sitePage = pg
	apps, err := s.svc.Applications(ctx, pg.me.ID)
	if err != nil {
		return err
	}
	for _, a := range apps {
		v.Applications = append(v.Applications, applicationView{ID: a.ID, Name: displayName(a), Username: a.Username,
			Email: a.Email, Note: a.Application, Region: a.Region,
			CreatedISO: atomTime(a.CreatedAt), CreatedText: pg.Date(a.CreatedAt)})
	}
	children, err := s.svc.Children(ctx)
	if err != nil {
		return err
	}
	for _, l := range children {
		if l.State != chapter.LinkPending || l.Account == nil {
			continue
		}
		a := l.Account
		c := childView{nodeLink: nodeLink{Name: displayName(a), Handle: "@" + a.Username + "@" + a.Host, URL: a.URL},
			ActorIRI: a.ActorIRI}
		if c.URL == "" {
			c.URL = a.ActorIRI
		}
		if id := levelMessages[a.Level]; id != "" {
			c.Level = pg.T(id)
		}
		v.Children = append(v.Children, c)
	}
	suspended, err := s.svc.Store().Members(ctx, chapter.StateSuspended, 100, 0)
	if err != nil {
		return fmt.Errorf("suspended members: %w", err)
	}
	for _, a := range suspended {
		av := s.author(a)
		av.URL = "" // a suspended member has no page
		v.Suspended = append(v.Suspended, av)
	}
	if v.Blocked, err = s.svc.Store().BlockedDomains(ctx); err != nil {
		return fmt.Errorf("blocked domains: %w", err)
	}
	pg.Title, pg.Nav = pg.T("AdminTitle"), "admin"
	return s.render(w, pg, "admin", status, v)
}

// adminDone ends an admin action: back to /admin with its notice.
func adminDone(w http.ResponseWriter, r *http.Request, done string) error {
	http.Redirect(w, r, "/admin?done="+done, http.StatusSeeOther)
	return nil
}

// decideApplication serves POST /admin/applications: id and
// decision=approve or decline.
func (s *Site) decideApplication(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("application id %q: %w", r.PostForm.Get("id"), chapter.ErrInvalid)
	}
	var approve bool
	switch r.PostForm.Get("decision") {
	case "approve":
		approve = true
	case "decline":
	default:
		return fmt.Errorf("decision %q: %w", r.PostForm.Get("decision"), chapter.ErrInvalid)
	}
	a, err := s.svc.DecideApplication(r.Context(), pg.me.ID, id, approve)
	if err != nil {
		return err
	}
	s.log.Info("application decided", "admin", pg.me.Username, "username", a.Username, "approved", approve)
	if approve {
		return adminDone(w, r, "approved")
	}
	return adminDone(w, r, "declined")
}

// approveChild serves POST /admin/children: actor is the pending child's
// Group actor IRI.
func (s *Site) approveChild(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	actor := r.PostForm.Get("actor")
	a, err := s.svc.Store().AccountByIRI(r.Context(), actor)
	if err != nil {
		return fmt.Errorf("child %q: %w", actor, err)
	}
	if link, err := s.svc.Store().Link(r.Context(), a.ID); err != nil || link.Role != chapter.RoleChild ||
		link.State != chapter.LinkPending {
		return fmt.Errorf("%q is not a pending child: %w", actor, chapter.ErrConflict)
	}
	if _, err := s.svc.ApproveChildAsAdmin(r.Context(), pg.me.ID, actor); err != nil {
		return err
	}
	s.log.Info("child approved", "admin", pg.me.Username, "actor_iri", actor)
	return adminDone(w, r, "child")
}

// findAccount finds a member by "name", "@name" or "@name@host" (a
// remote member), or by their profile URL on this site.
func (s *Site) findAccount(r *http.Request, ref string) (*chapter.Account, error) {
	ref = strings.TrimSpace(ref)
	if u, err := url.Parse(ref); err == nil && u.Scheme != "" && u.Host != "" {
		if a, err := s.svc.Store().AccountByIRI(r.Context(), ref); err == nil {
			return a, nil
		}
		// A profile page: https://host/@name, here or on another server.
		name, ok := strings.CutPrefix(u.Path, "/@")
		if !ok || name == "" || strings.ContainsAny(name, "/@") {
			return nil, fmt.Errorf("member %q: %w", ref, chapter.ErrNotFound)
		}
		ref = "@" + name + "@" + u.Host
	}
	return s.svc.LookupAccount(r.Context(), ref)
}

// moderateMember serves POST /admin/members: account, reason, and
// action=suspend or reactivate.
func (s *Site) moderateMember(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	member, post, domain := s.adminForms(pg.siteLang)
	member.fill(r.PostForm)
	suspend := member.F("action").Value != "reactivate"
	a, err := s.findAccount(r, member.F("account").Value)
	if err == nil {
		_, err = s.svc.ModerateMember(r.Context(), pg.me.ID, a.ID, suspend, strings.TrimSpace(member.F("reason").Value))
	}
	switch {
	case errors.Is(err, chapter.ErrNotFound):
		member.set("account", pg.T("ErrNoSuchMember"))
	case errors.Is(err, chapter.ErrForbidden): // oneself, or the node's Group
		member.set("account", pg.T("ErrCannotSuspend"))
	case err != nil:
		return err
	default:
		s.log.Info("member moderated", "admin", pg.me.Username, "member", a.Acct(), "suspend", suspend)
		if suspend {
			return adminDone(w, r, "suspend")
		}
		return adminDone(w, r, "reactive")
	}
	return s.renderAdmin(w, r, pg, &adminView{Member: member, Post: post, Domain: domain}, http.StatusUnprocessableEntity)
}

// postPathRE finds the id in the URL of a post: its page here, or its
// ActivityPub id.
var postPathRE = regexp.MustCompile(`^/(?:@[a-z0-9_]+|users/[a-z0-9_]+/statuses)/([0-9]+)$`)

// findPost finds a post by its id, its page's URL or its ActivityPub id.
func (s *Site) findPost(r *http.Request, ref string) (*chapter.Post, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return s.svc.Store().Post(r.Context(), id)
	}
	if p, err := s.svc.Store().PostByIRI(r.Context(), ref); err == nil || !errors.Is(err, chapter.ErrNotFound) {
		return p, err
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("post %q: %w", ref, chapter.ErrNotFound)
	}
	if m := postPathRE.FindStringSubmatch(strings.ToLower(u.Path)); m != nil && (u.Host == "" || strings.EqualFold(u.Host, s.host) ||
		s.publicURL != "" && strings.HasPrefix(ref, s.publicURL+"/")) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return s.svc.Store().Post(r.Context(), id)
	}
	return nil, fmt.Errorf("post %q: %w", ref, chapter.ErrNotFound)
}

// removePost serves POST /admin/posts: post (id or URL) and reason.
func (s *Site) removePost(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	member, post, domain := s.adminForms(pg.siteLang)
	post.fill(r.PostForm)
	p, err := s.findPost(r, post.F("post").Value)
	if err == nil && p.Deleted() {
		err = chapter.ErrNotFound
	}
	if err == nil {
		err = s.svc.RemovePost(r.Context(), pg.me.ID, p.ID, strings.TrimSpace(post.F("reason").Value))
	}
	switch {
	case errors.Is(err, chapter.ErrNotFound):
		post.set("post", pg.T("ErrNoSuchPost"))
	case err != nil:
		return err
	default:
		s.log.Info("post removed", "admin", pg.me.Username, "post_iri", p.IRI)
		return adminDone(w, r, "removed")
	}
	return s.renderAdmin(w, r, pg, &adminView{Member: member, Post: post, Domain: domain}, http.StatusUnprocessableEntity)
}

// blockDomain serves POST /admin/domains: domain and reason.
func (s *Site) blockDomain(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	member, post, domain := s.adminForms(pg.siteLang)
	domain.fill(r.PostForm)
	host := strings.ToLower(strings.TrimSpace(domain.F("domain").Value))
	if host == "" || host == strings.ToLower(s.host) {
		domain.set("domain", pg.T("ErrDomain"))
	} else {
		err := s.svc.BlockDomain(r.Context(), pg.me.ID, host, strings.TrimSpace(domain.F("reason").Value))
		switch {
		case errors.Is(err, chapter.ErrInvalid):
			domain.set("domain", pg.T("ErrDomain"))
		case err != nil:
			return err
		default:
			s.log.Info("domain blocked", "admin", pg.me.Username, "remote_host", host)
			return adminDone(w, r, "blocked")
		}
	}
	return s.renderAdmin(w, r, pg, &adminView{Member: member, Post: post, Domain: domain}, http.StatusUnprocessableEntity)
}

// auditActions name the audit log's actions in the message files.
var auditActions = map[string]string{
	"approve_member":    "AuditApproveMember",
	"decline_member":    "AuditDeclineMember",
	"suspend_member":    "AuditSuspendMember",
	"reactivate_member": "AuditReactivateMember",
	"remove_post":       "AuditRemovePost",
	"block_domain":      "AuditBlockDomain",
}

// auditEntryView is one line of the audit log.
type auditEntryView struct {
	Actor, Action, Target, Detail string
	CreatedISO, CreatedText       string
}

// auditView is /admin/audit.
type auditView struct {
	*sitePage
	Entries []auditEntryView
	Older   string
}

// auditPageSize is how many entries a page of the audit log shows.
const auditPageSize = 50

// auditPage serves GET /admin/audit?before=ID: admins' actions, newest
// first.
func (s *Site) auditPage(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("before %q: %w", v, chapter.ErrInvalid)
		}
		before = id
	}
	entries, err := s.svc.AuditLog(r.Context(), pg.me.ID, before, auditPageSize)
	if err != nil {
		return err
	}
	v := &auditView{sitePage: pg}
	for _, e := range entries {
		ev := auditEntryView{Action: e.Action, Target: e.Target, Detail: e.Detail,
			CreatedISO: atomTime(e.CreatedAt), CreatedText: pg.Date(e.CreatedAt), Actor: pg.T("SomeoneName")}
		if id := auditActions[e.Action]; id != "" {
			ev.Action = pg.T(id)
		}
		if e.Actor != nil {
			ev.Actor = "@" + e.Actor.Acct()
		}
		v.Entries = append(v.Entries, ev)
	}
	if len(entries) == auditPageSize {
		v.Older = "?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	pg.Title, pg.Nav = pg.T("AuditTitle"), "admin"
	return s.render(w, pg, "audit", http.StatusOK, v)
}
