package web

import (
	"context"
	"testing"
)

func TestInstance(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	e.addMember(t, "bob", "admin")
	e.post(t, "alice", map[string]any{"status": "one"})
	e.post(t, "bob", map[string]any{"status": "two"})
	// user_count is what the store counts. CountMembers counts every
	// active account, and so today the node's own Group too (3, not 2).
	members, err := e.db.CountMembers(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("v1", func(t *testing.T) {
		res := e.do(t, request{path: "/api/v1/instance"})
		v1 := ok[instanceV1JSON](t, res)
		raw := decode[map[string]any](t, res)
		checks := []struct {
			name string
			got  any
			want any
		}{
			{"uri", v1.URI, "chapter.test"},
			{"title", v1.Title, "Test chapter"},
			{"short_description", v1.ShortDescription, "We meet on Tuesdays."},
			{"version", v1.Version, "4.2.0 (compatible; Chapterhouse test)"},
			{"stats.user_count", v1.Stats.UserCount, members},
			{"stats.status_count", v1.Stats.StatusCount, 2},
			{"registrations", v1.Registrations, false},
			{"approval_required", v1.ApprovalRequired, true},
			{"email", v1.Email, ""},
			{"contact_account", raw["contact_account"], nil},
			{"max_characters", v1.Configuration.Statuses.MaxCharacters, 5000},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		for _, key := range []string{"urls", "languages", "rules"} {
			if raw[key] == nil {
				t.Errorf("%s is missing or null", key)
			}
		}
	})

	t.Run("v2", func(t *testing.T) {
		res := e.do(t, request{path: "/api/v2/instance"})
		v2 := ok[instanceV2JSON](t, res)
		checks := []struct {
			name string
			got  any
			want any
		}{
			{"domain", v2.Domain, "chapter.test"},
			{"title", v2.Title, "Test chapter"},
			{"version", v2.Version, "4.2.0 (compatible; Chapterhouse test)"},
			{"description", v2.Description, "We meet on Tuesdays."},
			{"usage.users.active_month", v2.Usage.Users.ActiveMonth, members},
			{"thumbnail.url", v2.Thumbnail.URL, testPublicURL + "/static/avatar.png"},
			{"registrations.enabled", v2.Registrations.Enabled, false},
			{"registrations.approval_required", v2.Registrations.ApprovalRequired, true},
			{"configuration.statuses.max_characters", v2.Configuration.Statuses.MaxCharacters, 5000},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
}
