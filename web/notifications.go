package web

import (
	"context"
	"net/http"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Notification page sizes, as on Mastodon.
const (
	defaultNotificationLimit = 15
	maxNotificationLimit     = 80
	// notificationScanPages bounds how far back a since_id or min_id
	// request looks: 10 pages of 80.
	notificationScanPages = 10
)

// notifications lists the member's notifications, newest first, with
// Mastodon's paging: GET /api/v1/notifications.
func (a *API) notifications(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	pg, err := parsePage(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ns, err := a.notificationPage(r.Context(), me.ID, pg)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list := make([]*notificationJSON, 0, len(ns))
	rd := a.renderer(r.Context(), me)
	for _, n := range ns {
		j, err := rd.notification(n)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if j != nil {
			list = append(list, j)
		}
	}
	if len(ns) > 0 {
		a.setLink(w, r, ns[0].ID, ns[len(ns)-1].ID)
	}
	writeJSON(w, http.StatusOK, list)
}

// notificationPage reads one page. The service pages by max_id only, so
// since_id (the newest after an id) and min_id (the oldest after an id,
// which clients poll with) are served by reading back from the top, at
// most notificationScanPages pages.
func (a *API) notificationPage(ctx context.Context, accountID int64, pg page) ([]*chapter.Notification, error) {
	limit := pg.Limit
	if limit <= 0 {
		limit = defaultNotificationLimit
	}
	limit = min(limit, maxNotificationLimit)
	after := max(pg.SinceID, pg.MinID)
	if after == 0 {
		return a.svc.Notifications(ctx, accountID, pg.MaxID, limit)
	}
	var out []*chapter.Notification
	maxID := pg.MaxID
	for range notificationScanPages {
		batch, err := a.svc.Notifications(ctx, accountID, maxID, maxNotificationLimit)
		if err != nil {
			return nil, err
		}
		for _, n := range batch {
			if n.ID <= after {
				return pickNotifications(out, limit, pg.MinID != 0), nil
			}
			out = append(out, n)
		}
		if len(batch) < maxNotificationLimit || (pg.MinID == 0 && len(out) >= limit) {
			break
		}
		maxID = batch[len(batch)-1].ID
	}
	return pickNotifications(out, limit, pg.MinID != 0), nil
}

// pickNotifications keeps limit items of a newest-first list: the oldest
// ones for min_id, the newest for since_id.
func pickNotifications(ns []*chapter.Notification, limit int, oldest bool) []*chapter.Notification {
	if len(ns) <= limit {
		return ns
	}
	if oldest {
		return ns[len(ns)-limit:]
	}
	return ns[:limit]
}
