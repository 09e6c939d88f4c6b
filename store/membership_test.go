package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

var _ chapter.MembershipStore = (*DB)(nil)

// deleteRow removes a row the store's API would not, to exercise the
// foreign keys' actions.
func deleteRow(t *testing.T, db *DB, table string, id int64) {
	t.Helper()
	res, err := db.w.ExecContext(context.Background(), `DELETE FROM `+table+` WHERE id = ?`, id)
	if err == nil {
		err = notFoundIfNone(res)
	}
	if err != nil {
		t.Fatalf("delete %s %d: %v", table, id, err)
	}
}

func TestAccountMembershipFields(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := &chapter.Account{Username: "alice", State: chapter.StatePending, Role: chapter.RoleMember,
		Email: "alice@mail.example", Region: "Lyon", Application: "I organise in Lyon."}
	if err := db.CreateAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, alice.ID, "tok"); err != nil {
		t.Fatal(err)
	}
	p := mustPost(t, db, g, alice, "hi")

	check := func(t *testing.T, email, region, application string) {
		t.Helper()
		reads := []struct {
			name string
			read func() (*chapter.Account, error)
		}{
			{"Account", func() (*chapter.Account, error) { return db.Account(ctx, alice.ID) }},
			{"AccountByUsername", func() (*chapter.Account, error) { return db.AccountByUsername(ctx, "alice") }},
			{"AccountByTokenHash", func() (*chapter.Account, error) { return db.AccountByTokenHash(ctx, "tok") }},
			{"Members", func() (*chapter.Account, error) {
				as, err := db.Members(ctx, alice.State, 10, 0)
				if err != nil || len(as) != 1 {
					return nil, fmt.Errorf("got %d members, %v", len(as), err)
				}
				return as[0], nil
			}},
			{"Post.Author", func() (*chapter.Account, error) {
				p, err := db.Post(ctx, p.ID)
				if err != nil {
					return nil, err
				}
				return p.Author, nil
			}},
		}
		for _, r := range reads {
			a, err := r.read()
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if a.Email != email || a.Region != region || a.Application != application {
				t.Errorf("%s: got %q, %q, %q; want %q, %q, %q", r.name,
					a.Email, a.Region, a.Application, email, region, application)
			}
		}
	}
	t.Run("created", func(t *testing.T) { check(t, "alice@mail.example", "Lyon", "I organise in Lyon.") })

	alice.Email, alice.Region, alice.Application = "a@new.example", "Villeurbanne", ""
	if err := db.UpdateAccount(ctx, alice, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("updated", func(t *testing.T) { check(t, "a@new.example", "Villeurbanne", "") })

	t.Run("remote", func(t *testing.T) {
		bob := &chapter.Account{Username: "bob", Host: "remote.example", ActorIRI: "https://remote.example/users/bob",
			Email: "claimed@remote.example", Region: "Porto", Application: "claimed"}
		if err := db.UpsertRemoteAccount(ctx, bob); err != nil {
			t.Fatal(err)
		}
		// Remote actors never applied here: no email, no application.
		if bob.Email != "" || bob.Application != "" || bob.Region != "Porto" {
			t.Errorf("new remote: got %q, %q, %q; want none, Porto, none", bob.Email, bob.Region, bob.Application)
		}
		// What the node records about it survives a refresh from its document.
		bob.State, bob.Email, bob.Region, bob.Application = chapter.StateActive, "admin-noted@x.example", "Braga", "note"
		if err := db.UpdateAccount(ctx, bob, nil); err != nil {
			t.Fatal(err)
		}
		fresh := &chapter.Account{Username: "bob", Host: "remote.example", ActorIRI: bob.ActorIRI,
			DisplayName: "Bob B.", Email: "other@remote.example"}
		if err := db.UpsertRemoteAccount(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		got, err := db.Account(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != "Bob B." || got.Email != "admin-noted@x.example" || got.Region != "Braga" ||
			got.Application != "note" || got.State != chapter.StateActive {
			t.Errorf("refreshed remote: got %+v", got)
		}
		if fresh.Email != got.Email || fresh.Region != got.Region || fresh.Application != got.Application {
			t.Errorf("refreshed remote: upsert did not read back the stored fields: %+v", fresh)
		}
	})
}

func TestPasswords(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	bob := mustLocal(t, db, "bob")
	if _, err := db.PasswordHash(ctx, alice.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("PasswordHash before SetPassword: got %v, want ErrNotFound", err)
	}
	tests := []struct {
		name    string
		account int64
		hash    string
		want    error
	}{
		{"first", alice.ID, "$argon2id$1", nil},
		{"another member", bob.ID, "$argon2id$b", nil},
		{"replaced", alice.ID, "$argon2id$2", nil},
		{"empty hash", alice.ID, "", chapter.ErrInvalid},
		{"missing account", 999, "$argon2id$x", chapter.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetPassword(ctx, tt.account, tt.hash)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("SetPassword: got %v, want %v", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		account int64
		want    string
		err     error
	}{
		{alice.ID, "$argon2id$2", nil},
		{bob.ID, "$argon2id$b", nil},
		{999, "", chapter.ErrNotFound},
	} {
		got, err := db.PasswordHash(ctx, tt.account)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("PasswordHash(%d): got %q, %v; want %q, %v", tt.account, got, err, tt.want, tt.err)
		}
	}
	// The credential goes with its account.
	deleteRow(t, db, "accounts", alice.ID)
	if _, err := db.PasswordHash(ctx, alice.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("PasswordHash of a deleted account: got %v, want ErrNotFound", err)
	}
	if got, err := db.PasswordHash(ctx, bob.ID); err != nil || got != "$argon2id$b" {
		t.Errorf("PasswordHash of another member after the delete: got %q, %v", got, err)
	}
}

func TestUnreadNotifications(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	other := mustLocal(t, db, "other")
	bob := mustRemote(t, db, "bob", "remote.example")
	live := mustPost(t, db, g, bob, "@alice hi")
	doomed := mustPost(t, db, g, bob, "@alice bye")

	add := func(n chapter.Notification) int64 {
		t.Helper()
		if _, err := db.AddNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	follow := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID})
	add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: doomed.ID})
	add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: live.ID})
	add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID, ReadAt: time.Now()})
	add(chapter.Notification{AccountID: other.ID, Type: chapter.NotifyFollow, FromID: bob.ID})
	if err := db.DeletePost(ctx, doomed.ID, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	// One about the deleted post that DeletePost's cleanup did not see.
	late := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: doomed.ID})
	add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID})

	unread := func(id int64) int {
		t.Helper()
		n, err := db.CountUnreadNotifications(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// follow, mention, latest; not the read one, not the deleted post's.
	if got := unread(alice.ID); got != 3 {
		t.Errorf("unread of alice: got %d, want 3", got)
	}
	if got := unread(999); got != 0 {
		t.Errorf("unread of a missing account: got %d, want 0", got)
	}

	steps := []struct {
		name       string
		account    int64
		upTo       int64
		marked     int
		wantUnread int
	}{
		{"up to the follow", alice.ID, follow, 1, 2},
		{"again", alice.ID, follow, 0, 2},
		// The hidden one (late) is marked too, and counted.
		{"up to late", alice.ID, late, 2, 1},
		{"all", alice.ID, 0, 1, 0},
		{"all, nothing left", alice.ID, 0, 0, 0},
		{"all of another account", other.ID, 0, 1, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			n, err := db.MarkNotificationsRead(ctx, s.account, s.upTo, time.Time{})
			if err != nil || n != s.marked {
				t.Errorf("MarkNotificationsRead: got %d, %v; want %d", n, err, s.marked)
			}
			if got := unread(s.account); got != s.wantUnread {
				t.Errorf("unread: got %d, want %d", got, s.wantUnread)
			}
		})
	}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	if _, err := db.AddNotification(ctx, &chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.MarkNotificationsRead(ctx, alice.ID, 0, at); err != nil || n != 1 {
		t.Fatalf("MarkNotificationsRead at: got %d, %v", n, err)
	}
	ns, err := db.Notifications(ctx, alice.ID, 0, 1)
	if err != nil || len(ns) != 1 || !ns[0].ReadAt.Equal(at) {
		t.Errorf("read time: got %v, %v; want %v", ns, err, at)
	}
}

func TestThreadFollows(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	carol := mustLocal(t, db, "carol")
	bob := mustRemote(t, db, "bob", "remote.example")
	dave := mustRemote(t, db, "dave", "far.example")
	root := mustPost(t, db, g, alice, "root")
	remoteRoot := mustPost(t, db, g, bob, "bob's thread")

	follows := []struct {
		name    string
		account int64
		post    int64
		want    error
	}{
		{"alice", alice.ID, root.ID, nil},
		{"alice again", alice.ID, root.ID, nil},
		{"carol", carol.ID, root.ID, nil},
		{"dave", dave.ID, root.ID, nil},
		{"alice, bob's thread", alice.ID, remoteRoot.ID, nil},
		{"carol, bob's thread", carol.ID, remoteRoot.ID, nil},
		{"missing post", alice.ID, 999, chapter.ErrNotFound},
		{"missing account", 999, root.ID, chapter.ErrNotFound},
	}
	for _, tt := range follows {
		t.Run(tt.name, func(t *testing.T) {
			err := db.FollowThread(ctx, tt.account, tt.post)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("FollowThread: got %v, want %v", err, tt.want)
			}
		})
	}

	followers := func(post int64) []int64 {
		t.Helper()
		got, err := db.ThreadFollowers(ctx, post)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	followsThread := func(account, post int64) bool {
		t.Helper()
		ok, err := db.FollowsThread(ctx, account, post)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if got, want := followers(root.ID), []int64{alice.ID, carol.ID, dave.ID}; !equalIDs(got, want) {
		t.Errorf("followers of root: got %v, want %v", got, want)
	}
	if got := followers(999); len(got) != 0 {
		t.Errorf("followers of a missing post: got %v", got)
	}

	for _, u := range []struct {
		name    string
		account int64
	}{{"carol", carol.ID}, {"carol again", carol.ID}, {"never followed", bob.ID}, {"missing account", 999}} {
		if err := db.UnfollowThread(ctx, u.account, root.ID); err != nil {
			t.Errorf("UnfollowThread %s: %v", u.name, err)
		}
	}
	for _, tt := range []struct {
		account, post int64
		want          bool
	}{
		{alice.ID, root.ID, true},
		{carol.ID, root.ID, false},
		{carol.ID, remoteRoot.ID, true},
		{bob.ID, root.ID, false},
		{alice.ID, 999, false},
	} {
		if got := followsThread(tt.account, tt.post); got != tt.want {
			t.Errorf("FollowsThread(%d, %d): got %v, want %v", tt.account, tt.post, got, tt.want)
		}
	}

	// The follows go with their account…
	if err := db.DeleteAccount(ctx, dave.ID); err != nil {
		t.Fatal(err)
	}
	deleteRow(t, db, "accounts", carol.ID)
	if got, want := followers(root.ID), []int64{alice.ID}; !equalIDs(got, want) {
		t.Errorf("followers of root after the deletes: got %v, want %v", got, want)
	}
	// …and with their post: bob's goes with bob.
	if err := db.DeleteAccount(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if got := followers(remoteRoot.ID); len(got) != 0 {
		t.Errorf("followers of a deleted post: got %v", got)
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM thread_follows`).Scan(&n); err != nil || n != 1 {
		t.Errorf("thread follows left: got %d, %v; want alice's of root only", n, err)
	}
	// A tombstone keeps its followers: the thread goes on.
	if err := db.DeletePost(ctx, root.ID, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if !followsThread(alice.ID, root.ID) {
		t.Error("follow of a tombstoned root lost")
	}
}

func TestAuditLog(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := mustLocal(t, db, "admin")
	other := mustLocal(t, db, "other")
	base := time.UnixMilli(1_700_000_000_000).UTC()

	adds := []struct {
		name string
		e    chapter.AuditEntry
		want error
	}{
		{"approve", chapter.AuditEntry{ActorID: admin.ID, Action: "approve_member", Target: "carol", CreatedAt: base}, nil},
		{"by the other admin", chapter.AuditEntry{ActorID: other.ID, Action: "block_domain", Target: "spam.example",
			Detail: "spam", CreatedAt: base.Add(time.Second)}, nil},
		{"no actor", chapter.AuditEntry{Action: "prune", Detail: "nightly"}, nil},
		{"suspend", chapter.AuditEntry{ActorID: admin.ID, Action: "suspend_member", Target: "dave@x.example"}, nil},
		{"no action", chapter.AuditEntry{ActorID: admin.ID}, chapter.ErrInvalid},
		{"missing actor", chapter.AuditEntry{ActorID: 999, Action: "remove_post"}, chapter.ErrNotFound},
	}
	var added []chapter.AuditEntry
	for _, tt := range adds {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			err := db.AddAudit(ctx, &e)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("AddAudit: got %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if e.ID == 0 || e.CreatedAt.IsZero() {
				t.Errorf("AddAudit: ID %d, CreatedAt %v; want both set", e.ID, e.CreatedAt)
			}
			added = append(added, e)
		})
	}
	if len(added) != 4 {
		t.Fatalf("added %d entries, want 4", len(added))
	}
	wantIDs := func(es []chapter.AuditEntry) []int64 {
		var ids []int64
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		slices.Reverse(ids)
		return ids
	}
	gotIDs := func(es []*chapter.AuditEntry) []int64 {
		var ids []int64
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		return ids
	}

	es, err := db.AuditLog(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gotIDs(es), wantIDs(added); !equalIDs(got, want) {
		t.Fatalf("AuditLog: got %v, want %v", got, want)
	}
	for i, e := range es {
		w := added[len(added)-1-i]
		if e.ActorID != w.ActorID || e.Action != w.Action || e.Target != w.Target || e.Detail != w.Detail ||
			!e.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("entry %d: got %+v, want %+v", e.ID, e, w)
		}
		switch {
		case w.ActorID == 0 && e.Actor != nil:
			t.Errorf("entry %d without actor: Actor %+v", e.ID, e.Actor)
		case w.ActorID != 0 && (e.Actor == nil || e.Actor.ID != w.ActorID):
			t.Errorf("entry %d: Actor %+v, want account %d", e.ID, e.Actor, w.ActorID)
		}
	}

	pages := []struct {
		name   string
		before int64
		limit  int
		want   []int64
	}{
		{"limit", 0, 2, []int64{added[3].ID, added[2].ID}},
		{"before", added[2].ID, 10, []int64{added[1].ID, added[0].ID}},
		{"before the first", added[0].ID, 10, nil},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			es, err := db.AuditLog(ctx, p.before, p.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := gotIDs(es); !equalIDs(got, p.want) {
				t.Errorf("got %v, want %v", got, p.want)
			}
		})
	}

	// The entries outlive their actor.
	deleteRow(t, db, "accounts", other.ID)
	es, err = db.AuditLog(ctx, 0, 0)
	if err != nil || len(es) != 4 {
		t.Fatalf("AuditLog after the actor's deletion: got %d, %v", len(es), err)
	}
	for _, e := range es {
		if e.ID == added[1].ID && (e.ActorID != 0 || e.Actor != nil || e.Target != "spam.example") {
			t.Errorf("entry of a deleted actor: got %+v, want no actor", e)
		}
		if e.ID == added[0].ID && (e.Actor == nil || e.Actor.ID != admin.ID) {
			t.Errorf("entry of the remaining admin: got %+v", e)
		}
	}
}

func TestAuditLogPageSize(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := mustLocal(t, db, "admin")
	for i := range 250 {
		if err := db.AddAudit(ctx, &chapter.AuditEntry{ActorID: admin.ID, Action: "a", Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {10, 10}, {1000, 200}} {
		es, err := db.AuditLog(ctx, 0, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != tt.want {
			t.Errorf("limit %d: got %d, want %d", tt.limit, len(es), tt.want)
		}
	}
}

func TestMembersByRegion(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	add := func(username, host, display string, state chapter.State, region string) int64 {
		t.Helper()
		a := &chapter.Account{Username: username, Host: host, DisplayName: display, State: state, Region: region}
		if host != "" {
			a.ActorIRI = "https://" + host + "/users/" + username
			if err := db.UpsertRemoteAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			// The node records the state of a remote member itself.
			a.State = state
			if err := db.UpdateAccount(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	active := chapter.StateActive
	berta := add("berta", "", "Berta", active, "Berlin")
	anna := add("anna", "", "anna", active, "BERLIN-Mitte")
	remote := add("rolf", "east.example", "Rolf", active, "Ost-Berlin")
	add("pending", "", "Pat", chapter.StatePending, "Berlin")
	add("suspended", "", "Sue", chapter.StateSuspended, "Berlin")
	add("noregion", "", "Nora", active, "")
	elsewhere := add("elsewhere", "", "Else", active, "Hamburg")
	pct := add("pct", "", "Percy", active, "100% Kreuzberg")
	under := add("under", "", "Uma", active, "North_West")
	plain := add("plain", "", "Paul", active, "NorthaWest")
	slash := add("slash", "", "Sam", active, `C:\berlin`)
	// The node's own Group, an active account with a region, is no member.
	group := &chapter.Account{Username: "chapter", Kind: chapter.KindGroup, State: active, Region: "Berlin"}
	if err := db.CreateAccount(ctx, group); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		region string
		limit  int
		want   []int64
	}{
		{"case-insensitive, by display name", "berlin", 0, []int64{anna, berta, remote, slash}},
		{"upper case", "BERLIN", 0, []int64{anna, berta, remote, slash}},
		{"spaces trimmed", "  mitte ", 0, []int64{anna}},
		{"limit", "berlin", 2, []int64{anna, berta}},
		{"percent is literal", "%", 0, []int64{pct}},
		{"percent inside", "0% k", 0, []int64{pct}},
		{"underscore is literal", "_", 0, []int64{under}},
		{"underscore inside", "h_w", 0, []int64{under}},
		{"without underscore", "hawest", 0, []int64{plain}},
		{"backslash is literal", `\`, 0, []int64{slash}},
		{"backslash inside", `c:\b`, 0, []int64{slash}},
		{"no match", "Paris", 0, nil},
		{"empty lists every member with a region", "", 0,
			[]int64{anna, berta, elsewhere, plain, pct, remote, slash, under}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := db.MembersByRegion(ctx, tt.region, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, a := range as {
				got = append(got, a.ID)
				if a.Region == "" || a.State != active {
					t.Errorf("account %d: region %q, state %q", a.ID, a.Region, a.State)
				}
			}
			if !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMembersByRegionPageSize(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for i := range 120 {
		a := &chapter.Account{Username: fmt.Sprintf("m%03d", i), DisplayName: fmt.Sprintf("M %03d", i),
			State: chapter.StateActive, Region: "Wien"}
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ limit, want int }{{0, 20}, {5, 5}, {1000, 100}} {
		as, err := db.MembersByRegion(ctx, "wien", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != tt.want {
			t.Errorf("limit %d: got %d, want %d", tt.limit, len(as), tt.want)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"Berlin", "Berlin"},
		{"100%", `100\%`},
		{"a_b", `a\_b`},
		{`a\b`, `a\\b`},
		{`%_\`, `\%\_\\`},
	} {
		if got := escapeLike(tt.in); got != tt.want {
			t.Errorf("escapeLike(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// openV2 creates a database at schema version 2 in dir, as a program of
// that version left it: a member with a token and an unread notification
// about a remote Group's post.
func openV2(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if err := applyMigration(ctx, w, m); err != nil {
			t.Fatal(err)
		}
	}
	stmts := []string{
		`INSERT INTO accounts (id, username, host, kind, actor_iri, level, state, created_at, updated_at)
			VALUES (7, 'chapter', 'east.example', 'Group', 'https://east.example/users/chapter', 'chapter', 'active', 1, 1)`,
		`INSERT INTO accounts (id, username, kind, display_name, role, state, created_at, updated_at)
			VALUES (8, 'alice', 'Person', 'Alice', 'admin', 'active', 1, 1)`,
		`INSERT INTO posts (id, iri, account_id, content, via, created_at, updated_at)
			VALUES (100, 'https://east.example/p/1', 7, '<p>old</p>', '["https://east.example/users/chapter"]', 2, 2)`,
		`INSERT INTO post_via (node_iri, post_id) VALUES ('https://east.example/users/chapter', 100)`,
		`INSERT INTO links (account_id, role, state, created_at) VALUES (7, 'child', 'linked', 3)`,
		`INSERT INTO tokens (hash, account_id, created_at) VALUES ('tokhash', 8, 4)`,
		`INSERT INTO notifications (id, account_id, type, from_id, post_id, created_at) VALUES (50, 8, 'mention', 7, 100, 5)`,
	}
	for _, s := range stmts {
		if _, err := w.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestMigrationFromV2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	openV2(t, dir)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].version

	for i := range 2 {
		db, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		db.ws.strict = true
		if v, err := db.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("open #%d: schema version: got %d, %v; want %d", i+1, v, err, latest)
		}

		// The v2 data is there.
		alice, err := db.AccountByTokenHash(ctx, "tokhash")
		if err != nil || alice.ID != 8 || alice.DisplayName != "Alice" || alice.Role != chapter.RoleAdmin {
			t.Fatalf("open #%d: alice by token: got %+v, %v", i+1, alice, err)
		}
		group, err := db.Account(ctx, 7)
		if err != nil || group.Level != chapter.LevelChapter {
			t.Fatalf("open #%d: group: got %+v, %v", i+1, group, err)
		}
		if ps, err := db.Timeline(ctx, chapter.TimelineQuery{Via: group.ActorIRI}); err != nil || len(ps) != 1 || ps[0].ID != 100 {
			t.Errorf("open #%d: timeline via: got %d posts, %v", i+1, len(ps), err)
		}
		if _, err := db.Link(ctx, 7); err != nil {
			t.Errorf("open #%d: link: %v", i+1, err)
		}

		if i == 0 {
			// The new fields of the old rows are empty, the new tables too.
			if alice.Email != "" || alice.Region != "" || alice.Application != "" {
				t.Errorf("migrated: alice: got %q, %q, %q; want none", alice.Email, alice.Region, alice.Application)
			}
			if _, err := db.PasswordHash(ctx, 8); !errors.Is(err, chapter.ErrNotFound) {
				t.Errorf("migrated: password: got %v, want ErrNotFound", err)
			}
			// The old notification counts as unread.
			if n, err := db.CountUnreadNotifications(ctx, 8); err != nil || n != 1 {
				t.Errorf("migrated: unread: got %d, %v; want 1", n, err)
			}
			// The new schema works on the old rows.
			alice.Email, alice.Region = "alice@mail.example", "Lyon"
			if err := db.UpdateAccount(ctx, alice, nil); err != nil {
				t.Fatal(err)
			}
			if err := db.SetPassword(ctx, 8, "hash"); err != nil {
				t.Fatal(err)
			}
			if err := db.FollowThread(ctx, 8, 100); err != nil {
				t.Fatal(err)
			}
			if err := db.AddAudit(ctx, &chapter.AuditEntry{ActorID: 8, Action: "approve_child", Target: "chapter@east.example"}); err != nil {
				t.Fatal(err)
			}
			if n, err := db.MarkNotificationsRead(ctx, 8, 0, time.Time{}); err != nil || n != 1 {
				t.Errorf("migrated: mark read: got %d, %v; want 1", n, err)
			}
		} else {
			if alice.Email != "alice@mail.example" || alice.Region != "Lyon" {
				t.Errorf("reopened: alice: got %q, %q", alice.Email, alice.Region)
			}
			if h, err := db.PasswordHash(ctx, 8); err != nil || h != "hash" {
				t.Errorf("reopened: password: got %q, %v", h, err)
			}
			if ok, err := db.FollowsThread(ctx, 8, 100); err != nil || !ok {
				t.Errorf("reopened: thread follow: got %v, %v", ok, err)
			}
			if es, err := db.AuditLog(ctx, 0, 0); err != nil || len(es) != 1 || es[0].Actor == nil || es[0].Actor.ID != 8 {
				t.Errorf("reopened: audit log: got %v, %v", es, err)
			}
			if n, err := db.CountUnreadNotifications(ctx, 8); err != nil || n != 0 {
				t.Errorf("reopened: unread: got %d, %v; want 0", n, err)
			}
			if as, err := db.MembersByRegion(ctx, "lyon", 0); err != nil || len(as) != 1 || as[0].ID != 8 {
				t.Errorf("reopened: members in Lyon: got %v, %v", as, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRevokeTokens(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := time.Now()
	a := &chapter.Account{Username: "revoked", Kind: chapter.KindPerson, State: chapter.StateActive, CreatedAt: now, UpdatedAt: now}
	b := &chapter.Account{Username: "kept", Kind: chapter.KindPerson, State: chapter.StateActive, CreatedAt: now, UpdatedAt: now}
	for _, acc := range []*chapter.Account{a, b} {
		if err := db.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range []string{"h1", "h2", "h3"} {
		owner := a.ID
		if i == 2 {
			owner = b.ID
		}
		if err := db.CreateToken(ctx, owner, h); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.RevokeTokens(ctx, a.ID); err != nil || n != 2 {
		t.Errorf("RevokeTokens = %d, %v; want 2", n, err)
	}
	if _, err := db.AccountByTokenHash(ctx, "h1"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("a revoked token still finds its account: %v", err)
	}
	if got, err := db.AccountByTokenHash(ctx, "h3"); err != nil || got.ID != b.ID {
		t.Errorf("another account's token: %v, %v", got, err)
	}
}
