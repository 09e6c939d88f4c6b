package store

import (
	"context"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// TestQueryPlans checks that the store's queries use the index meant for
// them, never scan a whole table, and never sort in a temporary b-tree.
func TestQueryPlans(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	timeline := func(q chapter.TimelineQuery) (string, []any) { return timelineSQL(q) }
	type query struct {
		name  string
		sql   string
		args  []any
		index string // an index name the plan must mention
	}
	tests := []query{
		{"replies", qReplies, []any{1, 10}, "posts_replies"},
		{"adopt orphans", qPostAdopt, []any{1, "x"}, "posts_orphans"},
		{"post by IRI", qPostByIRI, []any{"x"}, "posts_iri"},
		{"count local posts", qCountLocal, nil, "posts_local"},
		{"count posts", qCountPosts, []any{1}, "posts_account"},
		{"claim", qClaimSelect, []any{1, 10}, "deliveries_due"},
		{"count deliveries", qCountDeliveries, nil, "deliveries_due"},
		{"activity done", qActivityDeleteIfDone, []any{1}, "sqlite_autoindex_deliveries"},
		{"pending inbox", qInboxPending, []any{10}, "inbox_items_pending"},
		{"followers", qFollowers, []any{1, "accepted", 10, 0}, "follows_target"},
		{"following", qFollowing, []any{1, "accepted", 10, 0}, "follows_follower"},
		{"count followers", qCountFollowers, []any{1, "accepted"}, "follows_target"},
		{"follower inboxes", qFollowerInboxes, []any{1, "accepted"}, "follows_target"},
		{"follow by activity", qFollowByActivity, []any{"x"}, "follows_activity"},
		{"accounts at an inbox", qFollowGone, []any{"x"}, "accounts_shared_inbox"},
		{"members", qMembers, []any{"active", 10, 0}, "accounts_state"},
		{"count members", qCountMembers, []any{"active"}, "accounts_state"},
		{"account by username", qAccountByUsername, []any{"x"}, "accounts_handle"},
		{"account by IRI", qAccountByIRI, []any{"x"}, "accounts_actor_iri"},
		{"account by key id", qAccountByKeyID, []any{"x"}, "accounts_key_id"},
		{"accounts without key", qAccountsWithoutKey, []any{10}, "accounts_local"},
		{"notifications", qNotifications, []any{1, 100, 10}, "notifications_account"},
		{"interactions", qCountInteractions, []any{1, "like"}, "interactions_key"},
		{"undo by IRI", qInteractionDeleteIRI, []any{"x"}, "interactions_activity"},
		{"dead hosts", qDeadHosts, nil, "instances_dead"},
		{"link", qLink, []any{1}, "SEARCH l USING INTEGER PRIMARY KEY"},
		{"links by role", qLinks, []any{"child"}, "links_role"},
		{"touch link", qLinkTouch, []any{1, 2}, "INTEGER PRIMARY KEY"},
		{"prune a post's via", qPostViaPrune, []any{1, "[]"}, "post_via_post"},
		{"count unread notifications", qNotificationsUnread, []any{1}, "notifications_unread"},
		{"mark notifications read", qNotificationsRead, []any{1, 1, 100}, "notifications_unread"},
		{"password hash", qPasswordHash, []any{1}, "INTEGER PRIMARY KEY"},
		{"thread followers", qThreadFollowers, []any{1}, "SEARCH thread_follows USING PRIMARY KEY (post_id=?)"},
		{"follows thread", qThreadFollowedBy, []any{1, 2}, "PRIMARY KEY (post_id=? AND account_id=?)"},
		{"unfollow thread", qThreadUnfollow, []any{1, 2}, "PRIMARY KEY (post_id=? AND account_id=?)"},
		{"audit log", qAuditLog, []any{100, 10}, "SEARCH l USING INTEGER PRIMARY KEY (rowid<?)"},
		{"members by region", qMembersByRegion, []any{"active", "x", 10}, "accounts_region (state=?)"},
		// What the foreign keys run when an account goes.
		{"cascade to thread follows", `DELETE FROM thread_follows WHERE account_id = ?`, []any{1}, "thread_follows_account"},
		{"audit actor set null", `UPDATE audit_log SET actor_id = NULL WHERE actor_id = ?`, []any{1}, "audit_log_actor"},
	}
	for _, tq := range []struct {
		name  string
		q     chapter.TimelineQuery
		index string
	}{
		{"timeline: node", chapter.TimelineQuery{NodeOnly: true, MaxID: 100}, "posts_node"},
		{"timeline: node, public, no replies", chapter.TimelineQuery{NodeOnly: true, ExcludeReplies: true,
			Visibilities: []chapter.Visibility{chapter.VisibilityPublic}, MinID: 5}, "posts_node"},
		{"timeline: account", chapter.TimelineQuery{AccountID: 1, SinceID: 5}, "posts_account"},
		{"timeline: all", chapter.TimelineQuery{MaxID: 100}, "PRIMARY KEY"},
		// The subtree of a node: post_via's range for the node, in order.
		{"timeline: via", chapter.TimelineQuery{Via: "x", MaxID: 100},
			"SEARCH v USING PRIMARY KEY (node_iri=? AND post_id<?)"},
		{"timeline: via, oldest first", chapter.TimelineQuery{Via: "x", MinID: 5},
			"SEARCH v USING PRIMARY KEY (node_iri=? AND post_id>?)"},
		{"timeline: via, node, public, no replies", chapter.TimelineQuery{Via: "x", NodeOnly: true,
			ExcludeReplies: true, Visibilities: []chapter.Visibility{chapter.VisibilityPublic}, MaxID: 100},
			"SEARCH v USING PRIMARY KEY (node_iri=?"},
		{"timeline: via, account", chapter.TimelineQuery{Via: "x", AccountID: 1, SinceID: 5},
			"SEARCH v USING PRIMARY KEY (node_iri=?"},
	} {
		sql, args := timeline(tq.q)
		tests = append(tests, query{tq.name, sql, args, tq.index})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.sql, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, tt.index) {
				t.Errorf("plan does not use %s: %s", tt.index, all)
			}
			// DISTINCT needs one; ORDER BY must not.
			if strings.Contains(all, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("plan sorts in a temporary b-tree: %s", all)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "INDEX") &&
					!strings.Contains(step, "json_each") && !strings.HasPrefix(step, "SCAN (subquery") {
					t.Errorf("plan scans a table: %s", all)
				}
			}
		})
	}
}
