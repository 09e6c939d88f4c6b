package chapter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// reversingHasher is a test double for the slow KDF: the domain rules
// under test are when hashing happens, not how (Argon2id is tested in web).
type reversingHasher struct{}

func (reversingHasher) Hash(pw string) (string, error) { return "h:" + reverse(pw), nil }
func (reversingHasher) Verify(hash, pw string) (bool, error) {
	return hash != "" && hash == "h:"+reverse(pw), nil
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func membershipService(f *fixture) *chapter.Service {
	return chapter.NewService(chapter.Options{Store: f.db, Publisher: f.pub, Node: f.node, Hasher: reversingHasher{}})
}

func TestApplyRules(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	good := chapter.Application{Username: "Nadia", DisplayName: "Nadia", Email: "nadia@example.org",
		Password: "long enough password", Note: "I organise the food bank", Region: "Lyon"}
	cases := []struct {
		name string
		edit func(*chapter.Application)
		want error
	}{
		{"bad username", func(a *chapter.Application) { a.Username = "no spaces" }, chapter.ErrInvalid},
		{"the node's handle", func(a *chapter.Application) { a.Username = f.node.Handle }, chapter.ErrConflict},
		{"bad e-mail", func(a *chapter.Application) { a.Email = "not an address" }, chapter.ErrInvalid},
		{"e-mail with a name", func(a *chapter.Application) { a.Email = "Nadia <nadia@example.org>" }, chapter.ErrInvalid},
		{"short password", func(a *chapter.Application) { a.Password = "short" }, chapter.ErrInvalid},
		{"huge password", func(a *chapter.Application) { a.Password = strings.Repeat("x", 201) }, chapter.ErrInvalid},
		{"long note", func(a *chapter.Application) { a.Note = strings.Repeat("x", 1001) }, chapter.ErrInvalid},
		{"taken username", func(a *chapter.Application) { a.Username = "admin" }, chapter.ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := good
			tc.edit(&app)
			if _, err := svc.Apply(f.ctx, app); !errors.Is(err, tc.want) {
				t.Errorf("Apply = %v, want %v", err, tc.want)
			}
		})
	}
	a, err := svc.Apply(f.ctx, good)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if a.Username != "nadia" || a.State != chapter.StatePending || a.Email != good.Email || a.Region != "Lyon" {
		t.Errorf("applicant = %+v", a)
	}
	if got := f.notificationsOf(f.admin, chapter.NotifySignUp); got != 1 {
		t.Errorf("admin sign-up notifications = %d, want 1", got)
	}
	// Pending: no sign-in, no posting.
	if _, _, err := svc.SignIn(f.ctx, "nadia", good.Password); !errors.Is(err, chapter.ErrPending) {
		t.Errorf("pending sign-in = %v, want ErrPending", err)
	}
	if _, err := svc.CreatePost(f.ctx, a.ID, chapter.NewPost{Text: "hello"}); !errors.Is(err, chapter.ErrForbidden) {
		t.Errorf("pending post = %v, want ErrForbidden", err)
	}
	// A member cannot decide; the admin can.
	other := f.member("other", chapter.RoleMember)
	if _, err := svc.DecideApplication(f.ctx, other.ID, a.ID, true); !errors.Is(err, chapter.ErrForbidden) {
		t.Errorf("member deciding = %v, want ErrForbidden", err)
	}
	if _, err := svc.DecideApplication(f.ctx, f.admin.ID, a.ID, true); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if _, err := svc.DecideApplication(f.ctx, f.admin.ID, a.ID, true); !errors.Is(err, chapter.ErrConflict) {
		t.Errorf("second decision = %v, want ErrConflict", err)
	}
	log, err := svc.AuditLog(f.ctx, f.admin.ID, 0, 10)
	if err != nil || len(log) != 1 || log[0].Action != "approve_member" || log[0].Target != "@nadia" {
		t.Errorf("audit log = %v, %v", log, err)
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	a, err := svc.Apply(f.ctx, chapter.Application{Username: "omar", Email: "omar@example.org", Password: "a good long password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DecideApplication(f.ctx, f.admin.ID, a.ID, true); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, password string
		want                 error
	}{
		{"wrong password", "omar", "a good long passworD", chapter.ErrBadCredentials},
		{"unknown user", "nobody", "a good long password", chapter.ErrBadCredentials},
		{"no password set", "admin", "a good long password", chapter.ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := svc.SignIn(f.ctx, tc.user, tc.password); !errors.Is(err, tc.want) {
				t.Errorf("SignIn = %v, want %v", err, tc.want)
			}
		})
	}
	got, token, err := svc.SignIn(f.ctx, " Omar ", "a good long password")
	if err != nil || got.ID != a.ID || token == "" {
		t.Fatalf("SignIn = %v, %q, %v", got, token, err)
	}
	if who, err := svc.Authenticate(f.ctx, token); err != nil || who.ID != a.ID {
		t.Errorf("Authenticate(session) = %v, %v", who, err)
	}
	if err := svc.SignOut(f.ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(f.ctx, token); err == nil {
		t.Errorf("a signed-out session still authenticates")
	}
	// Suspended: refused even with the right password, and an open
	// session does not come back with a reactivation.
	_, open, err := svc.SignIn(f.ctx, "omar", "a good long password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ModerateMember(f.ctx, f.admin.ID, a.ID, true, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignIn(f.ctx, "omar", "a good long password"); !errors.Is(err, chapter.ErrForbidden) {
		t.Errorf("suspended sign-in = %v, want ErrForbidden", err)
	}
	if _, err := svc.ModerateMember(f.ctx, f.admin.ID, a.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(f.ctx, open); err == nil {
		t.Errorf("a session opened before the suspension works again after reactivation")
	}
}

// Following a thread notifies of every reply in it, once, under any post
// of the thread.
func TestThreadFollowNotifies(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	alice, bob, carol := f.member("alice", chapter.RoleMember), f.member("bob", chapter.RoleMember), f.member("carol", chapter.RoleMember)
	root := f.post(alice, chapter.NewPost{Text: "Budget proposal"})
	first := f.reply(bob, root, "I agree")
	if err := svc.FollowThread(f.ctx, carol.ID, first.ID, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := svc.FollowsThread(f.ctx, carol.ID, root.ID); err != nil || !ok {
		t.Fatalf("FollowsThread = %v, %v", ok, err)
	}
	if _, err := svc.CreatePost(f.ctx, bob.ID, chapter.NewPost{Text: "one more thing", InReplyToID: first.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.notificationsOf(carol, chapter.NotifyReply); got != 1 {
		t.Errorf("thread follower notifications = %d, want 1", got)
	}
	n, err := svc.UnreadCount(f.ctx, carol.ID)
	if err != nil || n != 1 {
		t.Errorf("unread = %d, %v; want 1", n, err)
	}
	if err := svc.MarkNotificationsRead(f.ctx, carol.ID, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := svc.UnreadCount(f.ctx, carol.ID); n != 0 {
		t.Errorf("unread after reading = %d", n)
	}
	if err := svc.FollowThread(f.ctx, carol.ID, root.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreatePost(f.ctx, bob.ID, chapter.NewPost{Text: "and another", InReplyToID: root.ID}); err != nil {
		t.Fatal(err)
	}
	if got := f.notificationsOf(carol, chapter.NotifyReply); got != 1 {
		t.Errorf("after unfollowing: %d notifications, want still 1", got)
	}
}

func TestAdminActionsAreAudited(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	bob := f.member("bob", chapter.RoleMember)
	p := f.post(bob, chapter.NewPost{Text: "spam spam"})
	if err := svc.RemovePost(f.ctx, bob.ID, p.ID, "x"); !errors.Is(err, chapter.ErrForbidden) {
		t.Errorf("a member removing = %v, want ErrForbidden", err)
	}
	if err := svc.RemovePost(f.ctx, f.admin.ID, p.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := svc.BlockDomain(f.ctx, f.admin.ID, "Spam.Example", "spam"); err != nil {
		t.Fatal(err)
	}
	if err := svc.BlockDomain(f.ctx, f.admin.ID, "https://x/y", ""); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("bad domain = %v, want ErrInvalid", err)
	}
	if _, err := svc.ModerateMember(f.ctx, f.admin.ID, f.admin.ID, true, ""); !errors.Is(err, chapter.ErrForbidden) {
		t.Errorf("suspending oneself = %v, want ErrForbidden", err)
	}
	log, err := svc.AuditLog(f.ctx, f.admin.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if got, want := strings.Join(actions, ", "), "block_domain spam.example, remove_post "+p.IRI; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
	if blocked, _ := f.db.DomainBlocked(f.ctx, "spam.example"); !blocked {
		t.Errorf("domain not blocked")
	}
}

func TestFindMembersIsOptIn(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	lyon := f.member("lyon", chapter.RoleMember)
	f.member("hidden", chapter.RoleMember)
	if err := svc.SetRegion(f.ctx, lyon.ID, "Lyon, Auvergne-Rhône-Alpes"); err != nil {
		t.Fatal(err)
	}
	found, err := svc.FindMembers(f.ctx, "lyon")
	if err != nil || len(found) != 1 || found[0].ID != lyon.ID {
		t.Errorf("FindMembers = %v, %v", found, err)
	}
	if _, err := svc.FindMembers(f.ctx, "x"); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("one-letter search = %v, want ErrInvalid", err)
	}
}

// An article comes rendered by the layer that took it: its HTML is the
// content, its Markdown the source, with the article's longer limit.
func TestArticleHTML(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	long := strings.Repeat("word ", 2000) // 10,000 characters: too long for a post
	if _, err := f.svc.CreatePost(f.ctx, alice.ID, chapter.NewPost{Text: long}); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("a 10,000-character post = %v, want ErrInvalid", err)
	}
	p, err := f.svc.CreatePost(f.ctx, alice.ID, chapter.NewPost{Text: "# Minutes\n\n" + long, HTML: "<h3>Minutes</h3><p>words</p>"})
	if err != nil {
		t.Fatalf("article: %v", err)
	}
	stored := f.stored(p.ID)
	if stored.Content != "<h3>Minutes</h3><p>words</p>" || !strings.HasPrefix(stored.Source, "# Minutes") {
		t.Errorf("article stored as content %q, source %.20q", stored.Content, stored.Source)
	}
	if _, err := f.svc.CreatePost(f.ctx, alice.ID, chapter.NewPost{Text: strings.Repeat("x", chapter.MaxArticleLength+1), HTML: "<p>x</p>"}); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("an over-long article = %v, want ErrInvalid", err)
	}
}

// Marking read stops at the newest notification shown.
func TestMarkReadUpToShown(t *testing.T) {
	f := newFixture(t)
	svc := membershipService(f)
	alice, bob := f.member("alice", chapter.RoleMember), f.member("bob", chapter.RoleMember)
	root := f.post(alice, chapter.NewPost{Text: "agenda"})
	f.reply(bob, root, "first")
	shown, err := svc.Notifications(f.ctx, alice.ID, 0, 20)
	if err != nil || len(shown) != 1 {
		t.Fatalf("notifications = %d, %v", len(shown), err)
	}
	f.reply(bob, root, "second, while the page loads")
	if err := svc.MarkNotificationsRead(f.ctx, alice.ID, shown[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.UnreadCount(f.ctx, alice.ID); err != nil || n != 1 {
		t.Errorf("unread after reading the first = %d, %v; want 1", n, err)
	}
}
