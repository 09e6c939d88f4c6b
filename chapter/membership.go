package chapter

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Password length limits: long enough to resist guessing, short enough
// that hashing a hostile "password" costs nothing unusual.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 200
)

// Application is what a visitor submits to join the chapter.
type Application struct {
	Username    string
	DisplayName string
	Email       string
	Password    string
	Note        string // a few words for the admins
	Region      string // optional: where they are, to find members near them
}

// NotifySignUp tells admins someone applied (Mastodon's type name).
const NotifySignUp NotificationType = "admin.sign_up"

// Apply records a visitor's application: a pending member who cannot post
// or sign in until an admin approves. Admins are notified.
func (s *Service) Apply(ctx context.Context, app Application) (*Account, error) {
	if s.hasher == nil {
		return nil, fmt.Errorf("applications are not available: %w", ErrInvalid)
	}
	username := strings.ToLower(strings.TrimSpace(app.Username))
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	if username == s.node.Handle {
		return nil, fmt.Errorf("username %q is taken: %w", username, ErrConflict)
	}
	name := strings.TrimSpace(app.DisplayName)
	if name == "" {
		name = username
	}
	if len([]rune(name)) > 100 {
		return nil, fmt.Errorf("name: at most 100 characters: %w", ErrInvalid)
	}
	email := strings.TrimSpace(app.Email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		return nil, fmt.Errorf("e-mail %q is not an address: %w", email, ErrInvalid)
	}
	if n := len([]rune(app.Password)); n < MinPasswordLength || n > MaxPasswordLength {
		return nil, fmt.Errorf("password: %d to %d characters: %w", MinPasswordLength, MaxPasswordLength, ErrInvalid)
	}
	note, region := strings.TrimSpace(app.Note), strings.TrimSpace(app.Region)
	if len([]rune(note)) > 1000 || len([]rune(region)) > 100 {
		return nil, fmt.Errorf("application: the note is at most 1000 characters, the region 100: %w", ErrInvalid)
	}
	hash, err := s.hasher.Hash(app.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.Clock()
	a := &Account{Username: username, Kind: KindPerson, DisplayName: name, Role: RoleMember, State: StatePending,
		Email: email, Region: region, Application: note, CreatedAt: now, UpdatedAt: now}
	a.ActorIRI = s.pub.LocalActorIRI(a)
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("apply as %q: %w", username, err)
	}
	if err := s.store.SetPassword(ctx, a.ID, hash); err != nil {
		return nil, fmt.Errorf("apply as %q: %w", username, err)
	}
	admins, err := s.admins(ctx)
	if err != nil {
		return nil, err
	}
	for _, to := range admins {
		n := &Notification{AccountID: to.ID, Type: NotifySignUp, FromID: a.ID, CreatedAt: now,
			DedupingKey: fmt.Sprintf("signup:%d:to:%d", a.ID, to.ID)}
		if _, err := s.store.AddNotification(ctx, n); err != nil {
			return nil, fmt.Errorf("notify %q of an application: %w", to.Username, err)
		}
	}
	return a, nil
}

// SetPassword sets a local member's password (the CLI's way in for the
// first admin, and a member changing theirs).
func (s *Service) SetPassword(ctx context.Context, accountID int64, password string) error {
	if s.hasher == nil {
		return fmt.Errorf("passwords are not available: %w", ErrInvalid)
	}
	if n := len([]rune(password)); n < MinPasswordLength || n > MaxPasswordLength {
		return fmt.Errorf("password: %d to %d characters: %w", MinPasswordLength, MaxPasswordLength, ErrInvalid)
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetPassword(ctx, accountID, hash); err != nil {
		return fmt.Errorf("set password of %d: %w", accountID, err)
	}
	return nil
}

// ErrBadCredentials is a failed sign-in: unknown name or wrong password,
// deliberately not told apart.
var ErrBadCredentials = fmt.Errorf("wrong username or password: %w", ErrForbidden)

// ErrPending is a sign-in by an applicant the admins have not approved yet.
var ErrPending = fmt.Errorf("the application is waiting for approval: %w", ErrForbidden)

// SignIn checks a member's password and opens a session, returning its
// token (stored hashed, like API tokens).
func (s *Service) SignIn(ctx context.Context, username, password string) (*Account, string, error) {
	if s.hasher == nil {
		return nil, "", ErrBadCredentials
	}
	a, err := s.store.AccountByUsername(ctx, strings.ToLower(strings.TrimSpace(username)))
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check, so names cannot be probed.
		_, _ = s.hasher.Verify("", password)
		return nil, "", ErrBadCredentials
	}
	if err != nil {
		return nil, "", fmt.Errorf("sign in %q: %w", username, err)
	}
	hash, err := s.store.PasswordHash(ctx, a.ID)
	if errors.Is(err, ErrNotFound) {
		_, _ = s.hasher.Verify("", password)
		return nil, "", ErrBadCredentials
	}
	if err != nil {
		return nil, "", fmt.Errorf("sign in %q: %w", username, err)
	}
	if ok, err := s.hasher.Verify(hash, password); err != nil || !ok {
		return nil, "", ErrBadCredentials
	}
	switch a.State {
	case StateActive:
	case StatePending:
		return nil, "", ErrPending
	default:
		return nil, "", fmt.Errorf("account %q is %s: %w", a.Username, a.State, ErrForbidden)
	}
	token, err := s.IssueToken(ctx, a.Username)
	if err != nil {
		return nil, "", err
	}
	return a, token, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if err := s.store.DeleteToken(ctx, hashToken(token)); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// requireAdmin returns the acting admin.
func (s *Service) requireAdmin(ctx context.Context, adminID int64) (*Account, error) {
	a, err := s.store.Account(ctx, adminID)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", adminID, err)
	}
	if !a.Local() || a.Role != RoleAdmin || a.State != StateActive {
		return nil, fmt.Errorf("%q is not an admin: %w", a.Acct(), ErrForbidden)
	}
	return a, nil
}

// audit records an admin action.
func (s *Service) audit(ctx context.Context, admin *Account, action, target, detail string) error {
	if err := s.store.AddAudit(ctx, &AuditEntry{ActorID: admin.ID, Action: action, Target: target,
		Detail: detail, CreatedAt: s.Clock()}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// ApproveChildAsAdmin links a pending member chapter on an admin's word,
// with an audit entry (the CLI, run by the operator, calls ApproveChild).
func (s *Service) ApproveChildAsAdmin(ctx context.Context, adminID int64, ref string) (*Link, error) {
	admin, err := s.requireAdmin(ctx, adminID)
	if err != nil {
		return nil, err
	}
	l, err := s.ApproveChild(ctx, ref)
	if err != nil {
		return nil, err
	}
	return l, s.audit(ctx, admin, "approve_child", l.Account.ActorIRI, string(l.Account.Level))
}

// Applications lists the pending applicants.
func (s *Service) Applications(ctx context.Context, adminID int64) ([]*Account, error) {
	if _, err := s.requireAdmin(ctx, adminID); err != nil {
		return nil, err
	}
	var out []*Account
	for offset := 0; ; offset += 200 {
		page, err := s.store.Members(ctx, StatePending, 200, offset)
		if err != nil {
			return nil, fmt.Errorf("applications: %w", err)
		}
		for _, a := range page {
			if a.Local() {
				out = append(out, a)
			}
		}
		if len(page) < 200 {
			return out, nil
		}
	}
}

// DecideApplication approves (the applicant becomes an active member) or
// declines (suspended, so the name stays taken and cannot sign in) a
// pending application, and records it in the audit log.
func (s *Service) DecideApplication(ctx context.Context, adminID, accountID int64, approve bool) (*Account, error) {
	admin, err := s.requireAdmin(ctx, adminID)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("applicant %d: %w", accountID, err)
	}
	if !a.Local() || a.State != StatePending {
		return nil, fmt.Errorf("%q has no pending application: %w", a.Acct(), ErrConflict)
	}
	a.State, a.UpdatedAt = StateActive, s.Clock()
	action := "approve_member"
	if !approve {
		a.State, action = StateSuspended, "decline_member"
	}
	if err := s.store.UpdateAccount(ctx, a, nil); err != nil {
		return nil, fmt.Errorf("decide on %q: %w", a.Username, err)
	}
	return a, s.audit(ctx, admin, action, "@"+a.Username, "")
}

// ModerateMember suspends or reactivates a member, with an audit entry.
func (s *Service) ModerateMember(ctx context.Context, adminID, accountID int64, suspend bool, reason string) (*Account, error) {
	admin, err := s.requireAdmin(ctx, adminID)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("member %d: %w", accountID, err)
	}
	if a.ID == admin.ID || a.Kind == KindGroup {
		return nil, fmt.Errorf("cannot suspend %q: %w", a.Acct(), ErrForbidden)
	}
	action, st := "reactivate_member", StateActive
	if suspend {
		action, st = "suspend_member", StateSuspended
	}
	a.State, a.UpdatedAt = st, s.Clock()
	if err := s.store.UpdateAccount(ctx, a, nil); err != nil {
		return nil, fmt.Errorf("moderate %q: %w", a.Acct(), err)
	}
	if suspend && a.Local() {
		// Signed-in sessions and API tokens end now, and do not come back
		// with a later reactivation.
		if _, err := s.store.RevokeTokens(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("revoke sessions of %q: %w", a.Acct(), err)
		}
	}
	return a, s.audit(ctx, admin, action, "@"+a.Acct(), reason)
}

// RemovePost is an admin deleting someone's post, with an audit entry.
func (s *Service) RemovePost(ctx context.Context, adminID, postID int64, reason string) error {
	admin, err := s.requireAdmin(ctx, adminID)
	if err != nil {
		return err
	}
	p, err := s.DeletePost(ctx, adminID, postID)
	if err != nil {
		return err
	}
	return s.audit(ctx, admin, "remove_post", p.IRI, reason)
}

// BlockDomain refuses a remote server both ways, with an audit entry.
func (s *Service) BlockDomain(ctx context.Context, adminID int64, host, reason string) error {
	admin, err := s.requireAdmin(ctx, adminID)
	if err != nil {
		return err
	}
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" || strings.ContainsAny(host, "/@ ") {
		return fmt.Errorf("domain %q: a host name such as spam.example: %w", host, ErrInvalid)
	}
	if err := s.store.BlockDomain(ctx, host); err != nil {
		return fmt.Errorf("block %q: %w", host, err)
	}
	return s.audit(ctx, admin, "block_domain", host, reason)
}

// AuditLog lists admin actions, newest first.
func (s *Service) AuditLog(ctx context.Context, adminID, beforeID int64, limit int) ([]*AuditEntry, error) {
	if _, err := s.requireAdmin(ctx, adminID); err != nil {
		return nil, err
	}
	return s.store.AuditLog(ctx, beforeID, clampLimit(limit, 50, 200))
}

// threadRoot walks up to the first post of a thread.
func (s *Service) threadRoot(ctx context.Context, p *Post) *Post {
	root := p
	for i := 0; root.InReplyToID != 0 && i < 100; i++ {
		parent, err := s.store.Post(ctx, root.InReplyToID)
		if err != nil {
			break
		}
		root = parent
	}
	return root
}

// ThreadRootID is the id of the first post of p's thread, as far as this
// node has it: two posts are in the same thread when these are equal.
func (s *Service) ThreadRootID(ctx context.Context, p *Post) int64 {
	return s.threadRoot(ctx, p).ID
}

// FollowThread makes a member notified of every reply in the thread of a
// post; unfollow undoes it.
func (s *Service) FollowThread(ctx context.Context, accountID, postID int64, follow bool) error {
	viewer, err := s.store.Account(ctx, accountID)
	if err != nil {
		return fmt.Errorf("account %d: %w", accountID, err)
	}
	p, err := s.Post(ctx, viewer, postID)
	if err != nil {
		return err
	}
	root := s.threadRoot(ctx, p)
	if follow {
		err = s.store.FollowThread(ctx, accountID, root.ID)
	} else {
		err = s.store.UnfollowThread(ctx, accountID, root.ID)
	}
	if err != nil {
		return fmt.Errorf("follow thread %d: %w", root.ID, err)
	}
	return nil
}

// FollowsThread tells whether a member follows the thread of a post.
func (s *Service) FollowsThread(ctx context.Context, accountID, postID int64) (bool, error) {
	p, err := s.store.Post(ctx, postID)
	if err != nil {
		return false, fmt.Errorf("post %d: %w", postID, err)
	}
	return s.store.FollowsThread(ctx, accountID, s.threadRoot(ctx, p).ID)
}

// notifyThreadFollowers tells those following a thread of a new reply in
// it, once each (the parent's author and the mentioned are told already,
// under the same deduping key).
func (s *Service) notifyThreadFollowers(ctx context.Context, p *Post) error {
	if p.InReplyToID == 0 {
		return nil
	}
	followers, err := s.store.ThreadFollowers(ctx, s.threadRoot(ctx, p).ID)
	if err != nil {
		return fmt.Errorf("thread followers: %w", err)
	}
	for _, id := range followers {
		if id == p.AccountID {
			continue
		}
		n := &Notification{AccountID: id, Type: NotifyReply, FromID: p.AccountID, PostID: p.ID,
			CreatedAt: s.Clock(), DedupingKey: fmt.Sprintf("post:%d:to:%d", p.ID, id)}
		if _, err := s.store.AddNotification(ctx, n); err != nil {
			return fmt.Errorf("notify thread follower %d: %w", id, err)
		}
	}
	return nil
}

// UnreadCount is how many notifications a member has not seen.
func (s *Service) UnreadCount(ctx context.Context, accountID int64) (int, error) {
	return s.store.CountUnreadNotifications(ctx, accountID)
}

// MarkNotificationsRead marks a member's notifications seen, up to the
// newest one shown (upToID; 0 for all): one that arrives while the page
// loads stays unread.
func (s *Service) MarkNotificationsRead(ctx context.Context, accountID, upToID int64) error {
	if _, err := s.store.MarkNotificationsRead(ctx, accountID, upToID, s.Clock()); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// FindMembers searches members by place, for "find members near you".
// Only members who gave a region are found: giving one is opting in.
func (s *Service) FindMembers(ctx context.Context, region string) ([]*Account, error) {
	region = strings.TrimSpace(region)
	if len([]rune(region)) < 2 {
		return nil, fmt.Errorf("search: at least 2 characters: %w", ErrInvalid)
	}
	return s.store.MembersByRegion(ctx, region, 50)
}

// SetRegion changes the place a member chose to show (empty hides it).
func (s *Service) SetRegion(ctx context.Context, accountID int64, region string) error {
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return fmt.Errorf("account %d: %w", accountID, err)
	}
	region = strings.TrimSpace(region)
	if len([]rune(region)) > 100 {
		return fmt.Errorf("region: at most 100 characters: %w", ErrInvalid)
	}
	a.Region, a.UpdatedAt = region, s.Clock()
	return s.store.UpdateAccount(ctx, a, nil)
}

// SetAvatar points a member's avatar at an uploaded image and tells
// followers.
func (s *Service) SetAvatar(ctx context.Context, accountID int64, avatarURL string) (*Account, error) {
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", accountID, err)
	}
	if !a.Local() {
		return nil, fmt.Errorf("account %d is remote: %w", accountID, ErrForbidden)
	}
	a.AvatarURL, a.UpdatedAt = avatarURL, s.Clock()
	if err := s.updateProfile(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}
