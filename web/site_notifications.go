package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is a member's notifications page: what happened to them, said
// in words, newest first; the count of the unread ones is in the header of
// every page (site_auth.go reads it with the session).

// notificationPageSize is how many notifications a page lists.
const notificationPageSize = 30

// notificationView is one notification as the page says it.
type notificationView struct {
	*siteLang
	Text        string
	From        authorView
	Unread      bool
	CreatedISO  string
	CreatedText string
	Post        *postView
	Link        string // where to act on it, when not the post
}

// notificationsView is /notifications.
type notificationsView struct {
	*sitePage
	Items []*notificationView
	Older string
}

// notifications serves GET /notifications: newest first, the unread ones
// marked, then all marked read.
func (s *Site) notifications(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	ctx := r.Context()
	var maxID int64
	if v := r.URL.Query().Get("max_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("max_id %q: %w", v, chapter.ErrInvalid)
		}
		maxID = id
	}
	ns, err := s.svc.Notifications(ctx, pg.me.ID, maxID, notificationPageSize)
	if err != nil {
		return err
	}
	v := &notificationsView{sitePage: pg}
	for _, n := range ns {
		item, err := s.notificationView(r, pg, n)
		if err != nil {
			return err
		}
		v.Items = append(v.Items, item)
	}
	if len(ns) == notificationPageSize {
		v.Older = "?max_id=" + strconv.FormatInt(ns[len(ns)-1].ID, 10)
	}
	if pg.Unread > 0 && len(ns) > 0 {
		// Up to the newest shown: one that arrived meanwhile stays unread.
		if err := s.svc.MarkNotificationsRead(ctx, pg.me.ID, ns[0].ID); err != nil {
			return err
		}
		if pg.Unread, err = s.svc.UnreadCount(ctx, pg.me.ID); err != nil {
			return err
		}
	}
	pg.Title, pg.Nav = pg.T("NotificationsTitle"), "notifications"
	return s.render(w, pg, "notifications", http.StatusOK, v)
}

// notificationView words a notification: a reply to the member's post
// says so whether or not it mentions them, a follow says whether the
// member or the chapter was followed.
func (s *Site) notificationView(r *http.Request, pg *sitePage, n *chapter.Notification) (*notificationView, error) {
	ctx, me := r.Context(), pg.me
	v := &notificationView{siteLang: pg.siteLang, Unread: n.ReadAt.IsZero(),
		CreatedISO: atomTime(n.CreatedAt), CreatedText: pg.Date(n.CreatedAt)}
	name := pg.T("SomeoneName")
	if n.From != nil {
		v.From = s.author(n.From)
		name = v.From.Name
	}
	if n.Post != nil && !n.Post.Deleted() {
		v.Post = s.postView(pg.siteLang, n.Post)
	}
	followedMe := func() bool {
		if n.From == nil {
			return true
		}
		_, err := s.svc.Store().Follow(ctx, n.From.ID, me.ID)
		return err == nil
	}
	switch n.Type {
	case chapter.NotifyMention:
		v.Text = pg.T("NotifMention", "Name", name)
		if n.Post != nil && n.Post.InReplyToID != 0 {
			parent, err := s.svc.Store().Post(ctx, n.Post.InReplyToID)
			if err != nil && !errors.Is(err, chapter.ErrNotFound) {
				return nil, fmt.Errorf("parent of post %d: %w", n.Post.ID, err)
			}
			if err == nil && parent.AccountID == me.ID {
				v.Text = pg.T("NotifReply", "Name", name)
			}
		}
	case chapter.NotifyReply:
		v.Text = pg.T("NotifThreadReply", "Name", name)
	case chapter.NotifyReblog:
		v.Text = pg.T("NotifBoost", "Name", name)
	case chapter.NotifyFavourite:
		v.Text = pg.T("NotifLike", "Name", name)
	case chapter.NotifyFollow:
		if followedMe() {
			v.Text = pg.T("NotifFollow", "Name", name)
		} else {
			v.Text = pg.T("NotifFollowChapter", "Name", name)
		}
	case chapter.NotifyFollowReq:
		switch {
		case n.From != nil && n.From.Kind == chapter.KindGroup && n.From.Level != "":
			v.Text, v.Link = pg.T("NotifChildRequest", "Name", name), "/admin#children-heading"
		case followedMe():
			v.Text = pg.T("NotifFollowRequest", "Name", name)
		default:
			v.Text = pg.T("NotifFollowRequestChapter", "Name", name)
		}
	case chapter.NotifySignUp:
		v.Text, v.Link = pg.T("NotifSignUp", "Name", name), "/admin#applications-heading"
		if n.From != nil && n.From.State == chapter.StatePending {
			v.From.URL = "" // the applicant has no page yet
		}
	default:
		v.Text = pg.T("NotifOther", "Name", name)
	}
	return v, nil
}
