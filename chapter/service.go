package chapter

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service is the node's behaviour: every layer that acts on the node (the
// member API, the website, the inbox, the CLI) goes through it, so the rules
// hold whichever door a request came in by.
type Service struct {
	store     Store
	pub       Publisher
	resolver  Resolver
	node      Node
	hasher    PasswordHasher
	directory Directory
	now       func() time.Time
	ids       IDGen
}

// Options configure a Service.
type Options struct {
	Store     Store
	Publisher Publisher
	// Resolver finds remote accounts; nil means mentions of remote
	// handles stay plain text and remote members cannot be added.
	Resolver Resolver
	Node     Node
	// Hasher hashes members' passwords; nil means nobody can apply or
	// sign in with a password (API tokens still work).
	Hasher PasswordHasher
	// Directory asks child nodes for their members near a place; nil
	// keeps the search to this node.
	Directory Directory
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewService builds the service.
func NewService(o Options) *Service {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: o.Store, pub: o.Publisher, resolver: o.Resolver, node: o.Node, hasher: o.Hasher,
		directory: o.Directory, now: now}
}

// Node returns the node's description.
func (s *Service) Node() Node { return s.node }

// Store gives read access to the store for layers that only display.
func (s *Service) Store() Store { return s.store }

// Clock returns the current time of the service's clock.
func (s *Service) Clock() time.Time { return s.now().UTC() }

// EnsureNode creates the node's Group account on first start and keeps its
// name and summary in step with the configuration, telling followers when
// they change.
func (s *Service) EnsureNode(ctx context.Context) (*Account, error) {
	g, err := s.store.AccountByUsername(ctx, s.node.Handle)
	if errors.Is(err, ErrNotFound) {
		now := s.Clock()
		g = &Account{
			Username: s.node.Handle, Kind: KindGroup, DisplayName: s.node.Name,
			Bio: textToHTML(s.node.Summary), Role: RoleMember, State: StateActive,
			Locked: s.node.Locked, CreatedAt: now, UpdatedAt: now,
		}
		g.ActorIRI = s.pub.LocalActorIRI(g)
		if err := s.store.CreateAccount(ctx, g); err != nil {
			return nil, fmt.Errorf("create node group %q: %w", s.node.Handle, err)
		}
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load node group: %w", err)
	}
	if g.Kind != KindGroup {
		return nil, fmt.Errorf("node handle %q is taken by a member account: %w", s.node.Handle, ErrConflict)
	}
	bio := textToHTML(s.node.Summary)
	if g.DisplayName == s.node.Name && g.Bio == bio && g.Locked == s.node.Locked {
		return g, nil
	}
	g.DisplayName, g.Bio, g.Locked, g.UpdatedAt = s.node.Name, bio, s.node.Locked, s.Clock()
	if err := s.updateProfile(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// Group returns the node's own Group account.
func (s *Service) Group(ctx context.Context) (*Account, error) {
	g, err := s.store.AccountByUsername(ctx, s.node.Handle)
	if err != nil {
		return nil, fmt.Errorf("node group %q: %w", s.node.Handle, err)
	}
	return g, nil
}

// AddMember creates an active local member (the admin's CLI path; people
// who apply on the website start pending). Its key is made in the
// background, so importing thousands of members stays fast.
func (s *Service) AddMember(ctx context.Context, username string, role Role) (*Account, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	if username == s.node.Handle {
		return nil, fmt.Errorf("username %q is the node's own handle: %w", username, ErrConflict)
	}
	if role != RoleAdmin {
		role = RoleMember
	}
	now := s.Clock()
	a := &Account{Username: username, Kind: KindPerson, DisplayName: username, Role: role,
		State: StateActive, CreatedAt: now, UpdatedAt: now}
	a.ActorIRI = s.pub.LocalActorIRI(a)
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return nil, fmt.Errorf("add member %q: %w", username, err)
	}
	return a, nil
}

// ApproveRemoteMember makes a person on another server a member of the
// chapter: from then on their public posts that address or mention the
// chapter are announced by it.
func (s *Service) ApproveRemoteMember(ctx context.Context, ref string) (*Account, error) {
	if s.resolver == nil {
		return nil, fmt.Errorf("approve %q: federation is not available: %w", ref, ErrInvalid)
	}
	a, err := s.resolver.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("approve %q: %w", ref, err)
	}
	if a.Local() {
		return nil, fmt.Errorf("approve %q: a local account: %w", ref, ErrInvalid)
	}
	a.State, a.UpdatedAt = StateActive, s.Clock()
	if err := s.store.UpdateAccount(ctx, a, nil); err != nil {
		return nil, fmt.Errorf("approve %q: %w", ref, err)
	}
	// A pending follow of the locked chapter is approved with the membership.
	if g, err := s.Group(ctx); err == nil {
		if f, err := s.store.Follow(ctx, a.ID, g.ID); err == nil && f.State == FollowPending {
			if err := s.acceptFollow(ctx, g, a, f); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// SetMemberState suspends, reactivates or approves a member.
func (s *Service) SetMemberState(ctx context.Context, id int64, st State) (*Account, error) {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	a.State, a.UpdatedAt = st, s.Clock()
	if err := s.store.UpdateAccount(ctx, a, nil); err != nil {
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	return a, nil
}

// UpdateProfile changes a local account's display name and bio and tells
// its followers with an Update.
func (s *Service) UpdateProfile(ctx context.Context, id int64, displayName, bio string) (*Account, error) {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", id, err)
	}
	if !a.Local() {
		return nil, fmt.Errorf("account %d is remote: %w", id, ErrForbidden)
	}
	displayName = strings.TrimSpace(displayName)
	if n := len([]rune(displayName)); n == 0 || n > 100 {
		return nil, fmt.Errorf("display name: 1 to 100 characters: %w", ErrInvalid)
	}
	if len([]rune(bio)) > 2000 {
		return nil, fmt.Errorf("bio: at most 2000 characters: %w", ErrInvalid)
	}
	a.DisplayName, a.Bio, a.UpdatedAt = displayName, textToHTML(bio), s.Clock()
	if err := s.updateProfile(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Service) updateProfile(ctx context.Context, a *Account) error {
	out, err := s.pub.Publish(ctx, Event{Type: EventProfileUpdated, Actor: a})
	if err != nil {
		return fmt.Errorf("describe profile update of %q: %w", a.Username, err)
	}
	if err := s.store.UpdateAccount(ctx, a, out); err != nil {
		return fmt.Errorf("save profile of %q: %w", a.Username, err)
	}
	return nil
}

// IssueToken makes a new API bearer token for a local account. Only its
// SHA-256 is stored: tokens are 256 random bits, so a slow hash adds nothing.
func (s *Service) IssueToken(ctx context.Context, username string) (string, error) {
	a, err := s.store.AccountByUsername(ctx, username)
	if err != nil {
		return "", fmt.Errorf("token for %q: %w", username, err)
	}
	if a.Kind == KindGroup {
		return "", fmt.Errorf("token for %q: the node's group cannot sign in: %w", username, ErrForbidden)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if err := s.store.CreateToken(ctx, a.ID, hashToken(token)); err != nil {
		return "", fmt.Errorf("token for %q: %w", username, err)
	}
	return token, nil
}

// Authenticate returns the active local account a bearer token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (*Account, error) {
	if token == "" {
		return nil, fmt.Errorf("no token: %w", ErrForbidden)
	}
	a, err := s.store.AccountByTokenHash(ctx, hashToken(token))
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if a.State != StateActive {
		return nil, fmt.Errorf("account %q is %s: %w", a.Username, a.State, ErrForbidden)
	}
	return a, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Notifications lists a member's notifications, newest first.
func (s *Service) Notifications(ctx context.Context, accountID, maxID int64, limit int) ([]*Notification, error) {
	ns, err := s.store.Notifications(ctx, accountID, maxID, clampLimit(limit, 15, 80))
	if err != nil {
		return nil, fmt.Errorf("notifications of %d: %w", accountID, err)
	}
	return ns, nil
}

func clampLimit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}
