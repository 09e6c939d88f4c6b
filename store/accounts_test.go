package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestCreateAccount(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	if alice.ID == 0 {
		t.Fatal("CreateAccount did not set ID")
	}
	mustRemote(t, db, "bob", "remote.example")
	tests := []struct {
		name string
		a    chapter.Account
		want error
	}{
		{"new local", chapter.Account{Username: "carol"}, nil},
		{"taken local", chapter.Account{Username: "alice"}, chapter.ErrConflict},
		{"taken, other case", chapter.Account{Username: "ALICE"}, chapter.ErrConflict},
		{"same name, remote", chapter.Account{Username: "alice", Host: "remote.example",
			ActorIRI: "https://remote.example/users/alice"}, nil},
		{"taken remote handle", chapter.Account{Username: "bob", Host: "remote.example"}, chapter.ErrConflict},
		{"taken actor IRI", chapter.Account{Username: "bobby", Host: "remote.example",
			ActorIRI: "https://remote.example/users/bob"}, chapter.ErrConflict},
		{"two locals without IRI", chapter.Account{Username: "dave"}, nil},
		{"no username", chapter.Account{}, chapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			err := db.CreateAccount(ctx, &a)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("CreateAccount: got %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			got, err := db.Account(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != a.Username || got.Host != a.Host || got.Kind != chapter.KindPerson ||
				!got.CreatedAt.Equal(a.CreatedAt) || got.CreatedAt.IsZero() {
				t.Errorf("Account: got %+v, want %+v", got, a)
			}
		})
	}
}

func TestAccountLookups(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "Bob", "Remote.Example")
	tests := []struct {
		name   string
		lookup func() (*chapter.Account, error)
		want   int64 // 0: ErrNotFound
	}{
		{"by id", func() (*chapter.Account, error) { return db.Account(ctx, alice.ID) }, alice.ID},
		{"by id, missing", func() (*chapter.Account, error) { return db.Account(ctx, 12345) }, 0},
		{"by username", func() (*chapter.Account, error) { return db.AccountByUsername(ctx, "alice") }, alice.ID},
		{"by username, remote is not local", func() (*chapter.Account, error) { return db.AccountByUsername(ctx, "bob") }, 0},
		{"by handle", func() (*chapter.Account, error) { return db.AccountByHandle(ctx, "Bob", "Remote.Example") }, bob.ID},
		{"by handle, any case", func() (*chapter.Account, error) { return db.AccountByHandle(ctx, "bob", "remote.example") }, bob.ID},
		{"by handle, wrong host", func() (*chapter.Account, error) { return db.AccountByHandle(ctx, "bob", "other.example") }, 0},
		{"by IRI", func() (*chapter.Account, error) { return db.AccountByIRI(ctx, bob.ActorIRI) }, bob.ID},
		{"by empty IRI", func() (*chapter.Account, error) { return db.AccountByIRI(ctx, "") }, 0},
		{"by key id", func() (*chapter.Account, error) { return db.AccountByKeyID(ctx, bob.PublicKeyID) }, bob.ID},
		{"by empty key id", func() (*chapter.Account, error) { return db.AccountByKeyID(ctx, "") }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.lookup()
			if tt.want == 0 {
				if !errors.Is(err, chapter.ErrNotFound) {
					t.Errorf("got %v, %v; want ErrNotFound", a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != tt.want {
				t.Errorf("got account %d, want %d", a.ID, tt.want)
			}
		})
	}
}

func TestUpdateAccount(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	alice.DisplayName = "Alice A."
	alice.Bio = "<p>organizer</p>"
	alice.Role = chapter.RoleAdmin
	alice.Locked = true
	alice.AvatarURL = "https://node.example/a.png"
	alice.FetchedAt = time.UnixMilli(1_700_000_000_123)
	out := []chapter.Outgoing{{ActivityIRI: "https://node.example/update/1", SignerID: alice.ID,
		Body: []byte("{}"), Inboxes: []string{"https://remote.example/inbox"}}}
	if err := db.UpdateAccount(ctx, alice, out); err != nil {
		t.Fatal(err)
	}
	got, err := db.Account(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != alice.DisplayName || got.Bio != alice.Bio || got.Role != chapter.RoleAdmin ||
		!got.Locked || got.AvatarURL != alice.AvatarURL || !got.FetchedAt.Equal(alice.FetchedAt) ||
		!got.UpdatedAt.Equal(alice.UpdatedAt) {
		t.Errorf("after update: got %+v, want %+v", got, alice)
	}
	if n, _ := db.CountDeliveries(ctx); n != 1 {
		t.Errorf("deliveries queued with the update: got %d, want 1", n)
	}
	missing := &chapter.Account{ID: 999, Username: "x"}
	if err := db.UpdateAccount(ctx, missing, out); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("update of a missing account: got %v, want ErrNotFound", err)
	}
}

func TestUpsertRemoteAccount(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	bob := mustRemote(t, db, "bob", "remote.example")
	// The node made bob a member; a refresh of his actor must keep that.
	bob.State = chapter.StateActive
	bob.Role = chapter.RoleMember
	if err := db.UpdateAccount(ctx, bob, nil); err != nil {
		t.Fatal(err)
	}
	refresh := &chapter.Account{
		Username: "bob", Host: "remote.example", ActorIRI: bob.ActorIRI,
		DisplayName: "Bob B.", InboxIRI: bob.InboxIRI, SharedInboxIRI: "https://remote.example/shared",
		PublicKeyID: bob.PublicKeyID, PublicKeyPEM: "PEM2", State: chapter.StateNone,
	}
	if err := db.UpsertRemoteAccount(ctx, refresh); err != nil {
		t.Fatal(err)
	}
	if refresh.ID != bob.ID || refresh.State != chapter.StateActive || refresh.Role != chapter.RoleMember ||
		!refresh.CreatedAt.Equal(bob.CreatedAt) {
		t.Errorf("refresh: got id %d state %q role %q created %v; want %d, active, member, %v",
			refresh.ID, refresh.State, refresh.Role, refresh.CreatedAt, bob.ID, bob.CreatedAt)
	}
	got, err := db.Account(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Bob B." || got.SharedInboxIRI != "https://remote.example/shared" ||
		got.PublicKeyPEM != "PEM2" || got.State != chapter.StateActive {
		t.Errorf("stored: got %+v", got)
	}

	alice := mustLocal(t, db, "alice")
	alice.ActorIRI = "https://node.example/users/alice"
	if err := db.UpdateAccount(ctx, alice, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    chapter.Account
		want error
	}{
		{"no IRI", chapter.Account{Username: "x", Host: "remote.example"}, chapter.ErrInvalid},
		{"no host", chapter.Account{Username: "x", ActorIRI: "https://remote.example/x"}, chapter.ErrInvalid},
		{"a local account's IRI", chapter.Account{Username: "alice", Host: "evil.example",
			ActorIRI: "https://node.example/users/alice"}, chapter.ErrConflict},
		{"handle of another actor", chapter.Account{Username: "bob", Host: "remote.example",
			ActorIRI: "https://remote.example/users/bob2"}, chapter.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			if err := db.UpsertRemoteAccount(ctx, &a); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if a, err := db.Account(ctx, alice.ID); err != nil || a.Host != "" {
		t.Errorf("alice after the spoofed upsert: %+v, %v", a, err)
	}
}

func TestDeleteAccount(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	carol := mustRemote(t, db, "carol", "remote.example")
	bobPost := mustPost(t, db, g, bob, "by bob")
	alicePost := mustPost(t, db, g, alice, "by alice")
	reply := &chapter.Post{ID: g.next(), IRI: "https://remote.example/reply", AccountID: carol.ID,
		InReplyToID: bobPost.ID, InReplyToIRI: bobPost.IRI}
	if err := db.CreatePost(ctx, reply, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []chapter.Follow{
		{FollowerID: bob.ID, TargetID: alice.ID, State: chapter.FollowAccepted},
		{FollowerID: alice.ID, TargetID: bob.ID, State: chapter.FollowAccepted},
		{FollowerID: carol.ID, TargetID: alice.ID, State: chapter.FollowAccepted},
	} {
		if err := db.PutFollow(ctx, &f, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []chapter.Interaction{
		{Kind: chapter.InteractionLike, AccountID: bob.ID, PostID: alicePost.ID},
		{Kind: chapter.InteractionLike, AccountID: carol.ID, PostID: bobPost.ID},
		{Kind: chapter.InteractionLike, AccountID: carol.ID, PostID: alicePost.ID},
	} {
		if _, err := db.AddInteraction(ctx, &i); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []chapter.Notification{
		{AccountID: alice.ID, Type: chapter.NotifyFavourite, FromID: bob.ID, PostID: alicePost.ID, DedupingKey: "1"},
		{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: carol.ID, PostID: bobPost.ID, DedupingKey: "2"},
		{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: carol.ID, DedupingKey: "3"},
	} {
		if _, err := db.AddNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.DeleteAccount(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Account(ctx, bob.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("deleted account: got %v, want ErrNotFound", err)
	}
	if _, err := db.Post(ctx, bobPost.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("post of the deleted account: got %v, want ErrNotFound", err)
	}
	r, err := db.Post(ctx, reply.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.InReplyToID != 0 || r.InReplyToIRI != bobPost.IRI {
		t.Errorf("reply to a deleted post: parent %d %q; want 0 %q", r.InReplyToID, r.InReplyToIRI, bobPost.IRI)
	}
	counts := []struct {
		name string
		got  func() (int, error)
		want int
	}{
		{"followers of alice", func() (int, error) { return db.CountFollowers(ctx, alice.ID) }, 1},
		{"following of alice", func() (int, error) { return db.CountFollowing(ctx, alice.ID) }, 0},
		{"likes of alice's post", func() (int, error) {
			return db.CountInteractions(ctx, alicePost.ID, chapter.InteractionLike)
		}, 1},
		{"notifications of alice", func() (int, error) {
			ns, err := db.Notifications(ctx, alice.ID, 0, 0)
			return len(ns), err
		}, 1},
	}
	for _, c := range counts {
		got, err := c.got()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	if err := db.DeleteAccount(ctx, alice.ID); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("DeleteAccount of a local account: got %v, want ErrInvalid", err)
	}
	if err := db.DeleteAccount(ctx, bob.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("DeleteAccount twice: got %v, want ErrNotFound", err)
	}
}

func TestMembers(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var active []int64
	for _, name := range []string{"a", "b", "c", "d"} {
		active = append(active, mustLocal(t, db, name).ID)
	}
	pending := &chapter.Account{Username: "p", State: chapter.StatePending}
	if err := db.CreateAccount(ctx, pending); err != nil {
		t.Fatal(err)
	}
	remote := mustRemote(t, db, "r", "remote.example")
	remote.State = chapter.StateActive
	if err := db.UpdateAccount(ctx, remote, nil); err != nil {
		t.Fatal(err)
	}
	active = append(active, remote.ID)

	tests := []struct {
		name          string
		state         chapter.State
		limit, offset int
		want          []int64
	}{
		{"all active", chapter.StateActive, 0, 0, active},
		{"first page", chapter.StateActive, 2, 0, active[:2]},
		{"second page", chapter.StateActive, 2, 2, active[2:4]},
		{"past the end", chapter.StateActive, 2, 10, nil},
		{"pending", chapter.StatePending, 10, 0, []int64{pending.ID}},
		{"suspended", chapter.StateSuspended, 10, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := db.Members(ctx, tt.state, tt.limit, tt.offset)
			if err != nil {
				t.Fatal(err)
			}
			if got := accountIDs(as); !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if n, err := db.CountMembers(ctx); err != nil || n != len(active) {
		t.Errorf("CountMembers: got %d, %v; want %d", n, err, len(active))
	}
}

func TestKeys(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	bob := mustLocal(t, db, "bob")
	mustRemote(t, db, "carol", "remote.example")

	if ids, err := db.AccountsWithoutKey(ctx, 10); err != nil || !equalIDs(ids, []int64{alice.ID, bob.ID}) {
		t.Errorf("AccountsWithoutKey: got %v, %v; want [%d %d]", ids, err, alice.ID, bob.ID)
	}
	if _, err := db.PrivateKey(ctx, alice.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("PrivateKey before SetKey: got %v, want ErrNotFound", err)
	}
	tests := []struct {
		name      string
		id        int64
		priv, pub string
		want      error
	}{
		{"first key", alice.ID, "PRIV1", "PUB1", nil},
		{"replaced key", alice.ID, "PRIV2", "PUB2", nil},
		{"missing account", 999, "P", "P", chapter.ErrNotFound},
		{"empty key", bob.ID, "", "", chapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetKey(ctx, tt.id, tt.priv, tt.pub)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("SetKey: got %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			priv, err := db.PrivateKey(ctx, tt.id)
			if err != nil || priv != tt.priv {
				t.Errorf("PrivateKey: got %q, %v; want %q", priv, err, tt.priv)
			}
			a, err := db.Account(ctx, tt.id)
			if err != nil || a.PublicKeyPEM != tt.pub {
				t.Errorf("account's public key: got %q, %v; want %q", a.PublicKeyPEM, err, tt.pub)
			}
		})
	}
	if ids, err := db.AccountsWithoutKey(ctx, 10); err != nil || !equalIDs(ids, []int64{bob.ID}) {
		t.Errorf("AccountsWithoutKey after SetKey: got %v, %v; want [%d]", ids, err, bob.ID)
	}
}

func accountIDs(as []*chapter.Account) []int64 {
	var ids []int64
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
