package chapter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		want     error
	}{
		{"plain", "alice", nil},
		{"one character", "a", nil},
		{"digits and underscore", "member_42", nil},
		{"thirty characters", strings.Repeat("a", 30), nil},
		{"thirty-one characters", strings.Repeat("a", 31), chapter.ErrInvalid},
		{"empty", "", chapter.ErrInvalid},
		{"uppercase is not normalised here", "Alice", chapter.ErrInvalid},
		{"hyphen", "al-ice", chapter.ErrInvalid},
		{"dot", "al.ice", chapter.ErrInvalid},
		{"space", "al ice", chapter.ErrInvalid},
		{"leading space", " alice", chapter.ErrInvalid},
		{"handle with host", "alice@remote.test", chapter.ErrInvalid},
		{"non-ASCII letter", "élise", chapter.ErrInvalid},
		{"markup", "<b>x</b>", chapter.ErrInvalid},
		{"reserved api", "api", chapter.ErrInvalid},
		{"reserved inbox", "inbox", chapter.ErrInvalid},
		{"reserved outbox", "outbox", chapter.ErrInvalid},
		{"reserved users", "users", chapter.ErrInvalid},
		{"reserved nodeinfo", "nodeinfo", chapter.ErrInvalid},
		{"reserved root", "root", chapter.ErrInvalid},
		{"reserved system", "system", chapter.ErrInvalid},
		{"reserved instance", "instance", chapter.ErrInvalid},
		{"reserved word inside a name is fine", "rootbeer", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := chapter.ValidateUsername(tt.username); !errIs(err, tt.want) {
				t.Errorf("ValidateUsername(%q) = %v, want %v", tt.username, err, tt.want)
			}
		})
	}
}

func TestAddMember(t *testing.T) {
	f := newFixture(t)
	f.member("carol", chapter.RoleMember)
	tests := []struct {
		name         string
		username     string
		role         chapter.Role
		want         error
		wantUsername string
		wantRole     chapter.Role
	}{
		{"member", "dave", chapter.RoleMember, nil, "dave", chapter.RoleMember},
		{"admin", "erin", chapter.RoleAdmin, nil, "erin", chapter.RoleAdmin},
		{"unknown role becomes member", "frank", chapter.Role("owner"), nil, "frank", chapter.RoleMember},
		{"empty role becomes member", "gina", "", nil, "gina", chapter.RoleMember},
		{"uppercase normalised", "HeLeN", chapter.RoleMember, nil, "helen", chapter.RoleMember},
		{"spaces trimmed", "  ivan\t", chapter.RoleMember, nil, "ivan", chapter.RoleMember},
		{"too long", strings.Repeat("x", 31), chapter.RoleMember, chapter.ErrInvalid, "", ""},
		{"invalid character", "jo-jo", chapter.RoleMember, chapter.ErrInvalid, "", ""},
		{"empty", "  ", chapter.RoleMember, chapter.ErrInvalid, "", ""},
		{"reserved", "inbox", chapter.RoleMember, chapter.ErrInvalid, "", ""},
		{"reserved in uppercase", "Users", chapter.RoleMember, chapter.ErrInvalid, "", ""},
		{"the node's own handle", nodeHandle, chapter.RoleMember, chapter.ErrConflict, "", ""},
		{"the node's own handle in uppercase", strings.ToUpper(nodeHandle), chapter.RoleAdmin, chapter.ErrConflict, "", ""},
		{"duplicate", "carol", chapter.RoleMember, chapter.ErrConflict, "", ""},
		{"duplicate in another case", "Carol", chapter.RoleMember, chapter.ErrConflict, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := f.svc.AddMember(f.ctx, tt.username, tt.role)
			if !errIs(err, tt.want) {
				t.Fatalf("AddMember(%q, %q) = %v, want %v", tt.username, tt.role, err, tt.want)
			}
			if err != nil {
				return
			}
			stored := f.account(a.ID)
			if got, want := stored.Username, tt.wantUsername; got != want {
				t.Errorf("Username = %q, want %q", got, want)
			}
			if got, want := stored.Role, tt.wantRole; got != want {
				t.Errorf("Role = %q, want %q", got, want)
			}
			if got, want := stored.State, chapter.StateActive; got != want {
				t.Errorf("State = %q, want %q", got, want)
			}
			if got, want := stored.Kind, chapter.KindPerson; got != want {
				t.Errorf("Kind = %q, want %q", got, want)
			}
			if got, want := stored.ActorIRI, "https://chapter.test/users/"+tt.wantUsername; got != want {
				t.Errorf("ActorIRI = %q, want %q", got, want)
			}
			if !stored.Local() {
				t.Errorf("member is not local: host %q", stored.Host)
			}
		})
	}
	// A remote person with the same username is someone else.
	f.remote("kim", "remote.test")
	if _, err := f.svc.AddMember(f.ctx, "kim", chapter.RoleMember); err != nil {
		t.Errorf("AddMember(kim) with a remote kim: %v", err)
	}
}

func TestEnsureNode(t *testing.T) {
	f := newFixture(t)
	t.Run("created on first start", func(t *testing.T) {
		g := f.account(f.group.ID)
		if got, want := g.Kind, chapter.KindGroup; got != want {
			t.Errorf("Kind = %q, want %q", got, want)
		}
		if got, want := g.Username, nodeHandle; got != want {
			t.Errorf("Username = %q, want %q", got, want)
		}
		if got, want := g.State, chapter.StateActive; got != want {
			t.Errorf("State = %q, want %q", got, want)
		}
		if got, want := g.ActorIRI, "https://chapter.test/users/"+nodeHandle; got != want {
			t.Errorf("ActorIRI = %q, want %q", got, want)
		}
		if got, want := g.DisplayName, "Riverside chapter"; got != want {
			t.Errorf("DisplayName = %q, want %q", got, want)
		}
		if got, want := g.Bio, "<p>The riverside chapter.</p>"; got != want {
			t.Errorf("Bio = %q, want %q", got, want)
		}
	})
	t.Run("unchanged configuration changes nothing", func(t *testing.T) {
		before := f.deliveries()
		g, err := f.svc.EnsureNode(f.ctx)
		if err != nil {
			t.Fatalf("EnsureNode: %v", err)
		}
		if got, want := g.ID, f.group.ID; got != want {
			t.Errorf("ID = %d, want %d", got, want)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none", got)
		}
		if got, want := f.deliveries(), before; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
	})
	t.Run("changed configuration tells the followers", func(t *testing.T) {
		node := f.node
		node.Name, node.Summary, node.Locked = "Riverside & Docks", "Now <b>bigger</b>.", true
		before := f.deliveries()
		g, err := f.newService(node, nil).EnsureNode(f.ctx)
		if err != nil {
			t.Fatalf("EnsureNode: %v", err)
		}
		evs := f.pub.take()
		if got, want := eventTypes(evs), typesOf(chapter.EventProfileUpdated); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		if got, want := evs[0].Actor.ID, f.group.ID; got != want {
			t.Errorf("event actor = %d, want the group %d", got, want)
		}
		if got, want := f.deliveries(), before+1; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		stored := f.account(g.ID)
		if got, want := stored.DisplayName, "Riverside & Docks"; got != want {
			t.Errorf("DisplayName = %q, want %q", got, want)
		}
		if got, want := stored.Bio, "<p>Now &lt;b&gt;bigger&lt;/b&gt;.</p>"; got != want {
			t.Errorf("Bio = %q, want %q", got, want)
		}
		if !stored.Locked {
			t.Errorf("Locked = false, want true")
		}
	})
	t.Run("handle taken by a member", func(t *testing.T) {
		alice := f.member("alice", chapter.RoleMember)
		node := f.node
		node.Handle = alice.Username
		_, err := f.newService(node, nil).EnsureNode(f.ctx)
		if !errors.Is(err, chapter.ErrConflict) {
			t.Errorf("EnsureNode with a member's handle = %v, want ErrConflict", err)
		}
	})
}

func TestUpdateProfile(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.remote("bob", "remote.test")
	tests := []struct {
		name        string
		id          int64
		displayName string
		bio         string
		want        error
		wantName    string
		wantBio     string
	}{
		{"plain", alice.ID, "  Alice A.  ", "Organiser.\n\nLikes tea.", nil, "Alice A.", "<p>Organiser.</p><p>Likes tea.</p>"},
		{"markup escaped", alice.ID, "<i>Alice</i>", "<script>alert(1)</script>", nil,
			"<i>Alice</i>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"empty bio", alice.ID, "Alice", "", nil, "Alice", ""},
		{"longest name", alice.ID, strings.Repeat("é", 100), "", nil, strings.Repeat("é", 100), ""},
		{"empty name", alice.ID, "   ", "", chapter.ErrInvalid, "", ""},
		{"name too long", alice.ID, strings.Repeat("é", 101), "", chapter.ErrInvalid, "", ""},
		{"bio too long", alice.ID, "Alice", strings.Repeat("b", 2001), chapter.ErrInvalid, "", ""},
		{"remote account", bob.ID, "Bob", "", chapter.ErrForbidden, "", ""},
		{"unknown account", 987654, "Nobody", "", chapter.ErrNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.deliveries()
			_, err := f.svc.UpdateProfile(f.ctx, tt.id, tt.displayName, tt.bio)
			if !errIs(err, tt.want) {
				t.Fatalf("UpdateProfile = %v, want %v", err, tt.want)
			}
			evs := f.pub.take()
			if err != nil {
				if len(evs) != 0 || f.deliveries() != before {
					t.Errorf("refused update published %q", eventTypes(evs))
				}
				return
			}
			if got, want := eventTypes(evs), typesOf(chapter.EventProfileUpdated); got != want {
				t.Errorf("events = %q, want %q", got, want)
			}
			if got, want := f.deliveries(), before+1; got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
			stored := f.account(tt.id)
			if got, want := stored.DisplayName, tt.wantName; got != want {
				t.Errorf("DisplayName = %q, want %q", got, want)
			}
			if got, want := stored.Bio, tt.wantBio; got != want {
				t.Errorf("Bio = %q, want %q", got, want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	t.Run("issued token authenticates", func(t *testing.T) {
		tok, err := f.svc.IssueToken(f.ctx, "alice")
		if err != nil {
			t.Fatalf("IssueToken: %v", err)
		}
		if len(tok) < 40 {
			t.Errorf("token %q is short: %d characters", tok, len(tok))
		}
		a, err := f.svc.Authenticate(f.ctx, tok)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if got, want := a.ID, alice.ID; got != want {
			t.Errorf("Authenticate = account %d, want %d", got, want)
		}
		second, err := f.svc.IssueToken(f.ctx, "alice")
		if err != nil {
			t.Fatalf("IssueToken again: %v", err)
		}
		if second == tok {
			t.Errorf("two tokens are equal: %q", tok)
		}
		for _, tk := range []string{tok, second} {
			if _, err := f.svc.Authenticate(f.ctx, tk); err != nil {
				t.Errorf("Authenticate(%q): %v", tk, err)
			}
		}
	})

	tok, err := f.svc.IssueToken(f.ctx, "alice")
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	refusals := []struct {
		name  string
		token string
		want  error
	}{
		{"empty token", "", chapter.ErrForbidden},
		{"unknown token", "not-a-token", chapter.ErrNotFound},
		{"token with a character changed", tok[:len(tok)-1] + string(rune(tok[len(tok)-1])^1), chapter.ErrNotFound},
		{"token with a suffix", tok + "x", chapter.ErrNotFound},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			a, err := f.svc.Authenticate(f.ctx, tt.token)
			if !errors.Is(err, tt.want) {
				t.Errorf("Authenticate(%q) = %v, %v; want %v", tt.token, a, err, tt.want)
			}
		})
	}

	t.Run("suspended member's token refused until reactivated", func(t *testing.T) {
		if _, err := f.svc.SetMemberState(f.ctx, alice.ID, chapter.StateSuspended); err != nil {
			t.Fatalf("SetMemberState: %v", err)
		}
		if _, err := f.svc.Authenticate(f.ctx, tok); !errors.Is(err, chapter.ErrForbidden) {
			t.Errorf("Authenticate of a suspended member = %v, want ErrForbidden", err)
		}
		if _, err := f.svc.SetMemberState(f.ctx, alice.ID, chapter.StateActive); err != nil {
			t.Fatalf("SetMemberState: %v", err)
		}
		if _, err := f.svc.Authenticate(f.ctx, tok); err != nil {
			t.Errorf("Authenticate after reactivation: %v", err)
		}
	})
	t.Run("pending member's token refused", func(t *testing.T) {
		pam := f.memberIn("pam", chapter.StatePending)
		tk, err := f.svc.IssueToken(f.ctx, pam.Username)
		if err != nil {
			t.Fatalf("IssueToken: %v", err)
		}
		if _, err := f.svc.Authenticate(f.ctx, tk); !errors.Is(err, chapter.ErrForbidden) {
			t.Errorf("Authenticate of a pending member = %v, want ErrForbidden", err)
		}
	})
	t.Run("the group cannot get a token", func(t *testing.T) {
		if _, err := f.svc.IssueToken(f.ctx, nodeHandle); !errors.Is(err, chapter.ErrForbidden) {
			t.Errorf("IssueToken(group) = %v, want ErrForbidden", err)
		}
	})
	t.Run("unknown member", func(t *testing.T) {
		if _, err := f.svc.IssueToken(f.ctx, "nobody"); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("IssueToken(nobody) = %v, want ErrNotFound", err)
		}
	})
	t.Run("a remote account has no local username", func(t *testing.T) {
		f.remote("bob", "remote.test")
		if _, err := f.svc.IssueToken(f.ctx, "bob"); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("IssueToken(bob) = %v, want ErrNotFound", err)
		}
	})
}

func TestApproveRemoteMember(t *testing.T) {
	t.Run("without federation", func(t *testing.T) {
		f := newFixture(t)
		svc := f.newService(f.node, nil)
		if _, err := svc.ApproveRemoteMember(f.ctx, "@bob@remote.test"); !errors.Is(err, chapter.ErrInvalid) {
			t.Errorf("ApproveRemoteMember without resolver = %v, want ErrInvalid", err)
		}
	})
	t.Run("unknown handle", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.ApproveRemoteMember(f.ctx, "@ghost@nowhere.test"); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("ApproveRemoteMember(ghost) = %v, want ErrNotFound", err)
		}
	})
	t.Run("a local account", func(t *testing.T) {
		f := newFixture(t)
		alice := f.member("alice", chapter.RoleMember)
		f.res.refs["alice@chapter.test"] = alice.ActorIRI
		if _, err := f.svc.ApproveRemoteMember(f.ctx, "alice@chapter.test"); !errors.Is(err, chapter.ErrInvalid) {
			t.Errorf("ApproveRemoteMember(local) = %v, want ErrInvalid", err)
		}
	})
	t.Run("remote person becomes an active member", func(t *testing.T) {
		f := newFixture(t)
		bob := f.remote("bob", "remote.test")
		before, err := f.db.CountMembers(f.ctx)
		if err != nil {
			t.Fatalf("CountMembers: %v", err)
		}
		a, err := f.svc.ApproveRemoteMember(f.ctx, "@bob@remote.test")
		if err != nil {
			t.Fatalf("ApproveRemoteMember: %v", err)
		}
		if got, want := a.ID, bob.ID; got != want {
			t.Errorf("approved account %d, want %d", got, want)
		}
		if got, want := f.account(bob.ID).State, chapter.StateActive; got != want {
			t.Errorf("State = %q, want %q", got, want)
		}
		after, err := f.db.CountMembers(f.ctx)
		if err != nil {
			t.Fatalf("CountMembers: %v", err)
		}
		if got, want := after, before+1; got != want {
			t.Errorf("CountMembers = %d, want %d", got, want)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none without a follow", got)
		}
	})
	t.Run("pending follow of the locked chapter is accepted", func(t *testing.T) {
		f := newFixture(t, locked)
		bob := f.remote("bob", "remote.test")
		if _, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/1"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		f.pub.take()
		if _, err := f.svc.ApproveRemoteMember(f.ctx, bob.ActorIRI); err != nil {
			t.Fatalf("ApproveRemoteMember: %v", err)
		}
		if got, want := eventTypes(f.pub.take()), typesOf(chapter.EventFollowAccepted); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if fl := f.follow(bob, f.group); fl == nil || fl.State != chapter.FollowAccepted {
			t.Errorf("follow = %+v, want accepted", fl)
		}
	})
}
