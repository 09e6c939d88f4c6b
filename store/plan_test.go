package store

import (
	"context"
	"strings"
	"testing"
)

// TestQueryPlans checks that the hot queries use an index, not a scan of
// a whole table or a temporary b-tree for ORDER BY.
func TestQueryPlans(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		query string
		args  []any
		want  string // an index name the plan must mention
	}{
		{"timeline node", `SELECT p.id FROM posts p JOIN accounts a ON a.id = p.account_id
			WHERE p.deleted_at IS NULL AND (p.local = 1 OR p.announced = 1) AND p.id < ? ORDER BY p.id DESC LIMIT 20`,
			[]any{1}, "posts_node"},
		{"timeline account", `SELECT p.id FROM posts p JOIN accounts a ON a.id = p.account_id
			WHERE p.deleted_at IS NULL AND p.account_id = ? ORDER BY p.id DESC LIMIT 20`, []any{1}, "posts_account"},
		{"replies", `SELECT p.id FROM posts p JOIN accounts a ON a.id = p.account_id
			WHERE p.in_reply_to_id = ? AND p.deleted_at IS NULL ORDER BY p.id`, []any{1}, "posts_replies"},
		{"orphans", `UPDATE posts SET in_reply_to_id = ?
			WHERE in_reply_to_iri = ? AND in_reply_to_id IS NULL AND in_reply_to_iri <> '' AND id <> ?`,
			[]any{1, "x", 1}, "posts_orphans"},
		{"count local posts", `SELECT count(*) FROM posts WHERE deleted_at IS NULL AND local = 1`, nil, "posts_local"},
		{"claim", `SELECT d.id FROM deliveries d JOIN activities a ON a.id = d.activity_id
			WHERE d.state = 'queued' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT 10`,
			[]any{1}, "deliveries_due"},
		{"count deliveries", `SELECT count(*) FROM deliveries WHERE state = 'queued'`, nil, "deliveries_"},
		{"pending inbox", `SELECT id FROM inbox_items WHERE processed_at IS NULL ORDER BY id LIMIT 10`, nil, "inbox_items_pending"},
		{"followers", `SELECT a.id FROM follows f JOIN accounts a ON a.id = f.follower_id
			WHERE f.target_id = ? AND f.state = ? ORDER BY f.created_at, f.follower_id LIMIT 10`,
			[]any{1, "accepted"}, "follows_target"},
		{"following", `SELECT a.id FROM follows f JOIN accounts a ON a.id = f.target_id
			WHERE f.follower_id = ? AND f.state = ? ORDER BY f.created_at, f.target_id LIMIT 10`,
			[]any{1, "accepted"}, "follows_follower"},
		{"members", `SELECT a.id FROM accounts a WHERE a.state = ? ORDER BY a.id LIMIT 10`, []any{"active"}, "accounts_state"},
		{"key id", `SELECT a.id FROM accounts a WHERE a.public_key_id = ? AND a.public_key_id <> ''`, []any{"k"}, "accounts_key_id"},
		{"without key", `SELECT a.id FROM accounts a WHERE a.host = '' AND NOT EXISTS
			(SELECT 1 FROM keys k WHERE k.account_id = a.id) ORDER BY a.id LIMIT 10`, nil, "accounts_local"},
		{"notifications", `SELECT n.id FROM notifications n LEFT JOIN posts p ON p.id = n.post_id
			WHERE n.account_id = ? AND n.id < ? AND (n.post_id IS NULL OR p.deleted_at IS NULL)
			ORDER BY n.id DESC LIMIT 10`, []any{1, 100}, "notifications_account"},
		{"dead hosts", `SELECT host FROM instances WHERE dead_at IS NOT NULL`, nil, "instances_dead"},
		{"inbox accounts", `SELECT id FROM accounts WHERE inbox_iri = ?1 AND inbox_iri <> '' AND host <> ''`,
			[]any{"x"}, "accounts_inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
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
			t.Log(all)
			if !strings.Contains(all, tt.want) {
				t.Errorf("plan does not use %s: %s", tt.want, all)
			}
			if strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan sorts in a temporary b-tree: %s", all)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "INDEX") && !strings.Contains(step, "json_each") {
					t.Errorf("plan scans a table: %s", all)
				}
			}
		})
	}
}
