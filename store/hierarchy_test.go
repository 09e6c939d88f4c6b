package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// TestAccountLevelAndParent checks that Level and ParentIRI go through
// every write and come back from every read.
func TestAccountLevelAndParent(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	const (
		national = "https://national.example/users/chapter"
		other    = "https://other-national.example/users/chapter"
	)
	local := &chapter.Account{Username: "chapter", Kind: chapter.KindGroup, Level: chapter.LevelChapter,
		ParentIRI: "https://city.example/users/chapter"}
	if err := db.CreateAccount(ctx, local); err != nil {
		t.Fatal(err)
	}
	city := mustGroup(t, db, "city.example", chapter.LevelCity, national)
	person := mustRemote(t, db, "bob", "remote.example")

	check := func(t *testing.T, id int64, level chapter.Level, parent string) {
		t.Helper()
		a, err := db.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		reads := []struct {
			name string
			get  func() (*chapter.Account, error)
		}{
			{"Account", func() (*chapter.Account, error) { return db.Account(ctx, id) }},
			{"AccountByIRI", func() (*chapter.Account, error) {
				if a.ActorIRI == "" {
					return a, nil
				}
				return db.AccountByIRI(ctx, a.ActorIRI)
			}},
			{"AccountByHandle", func() (*chapter.Account, error) { return db.AccountByHandle(ctx, a.Username, a.Host) }},
		}
		for _, r := range reads {
			got, err := r.get()
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if got.ID != id || got.Level != level || got.ParentIRI != parent {
				t.Errorf("%s: got %d %q %q, want %d %q %q", r.name, got.ID, got.Level, got.ParentIRI, id, level, parent)
			}
		}
	}

	tests := []struct {
		name       string
		write      func() (int64, error)
		wantLevel  chapter.Level
		wantParent string
	}{
		{"create", func() (int64, error) { return local.ID, nil }, chapter.LevelChapter, local.ParentIRI},
		{"upsert: insert", func() (int64, error) { return city.ID, nil }, chapter.LevelCity, national},
		{"upsert: refresh from the fetched document", func() (int64, error) {
			a := *city
			a.ID, a.Level, a.ParentIRI = 0, chapter.LevelNational, other
			return a.ID, db.UpsertRemoteAccount(ctx, &a)
		}, chapter.LevelNational, other},
		{"upsert: a document without them clears them", func() (int64, error) {
			a := *city
			a.ID, a.Level, a.ParentIRI = 0, "", ""
			return a.ID, db.UpsertRemoteAccount(ctx, &a)
		}, "", ""},
		{"update", func() (int64, error) {
			a, err := db.Account(ctx, city.ID)
			if err != nil {
				return 0, err
			}
			a.Level, a.ParentIRI = chapter.LevelCity, national
			return a.ID, db.UpdateAccount(ctx, a, nil)
		}, chapter.LevelCity, national},
		{"update keeps a local account's", func() (int64, error) {
			a, err := db.Account(ctx, local.ID)
			if err != nil {
				return 0, err
			}
			a.DisplayName = "Riverside"
			return a.ID, db.UpdateAccount(ctx, a, nil)
		}, chapter.LevelChapter, local.ParentIRI},
		{"other actors have none", func() (int64, error) { return person.ID, nil }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.write()
			if err != nil {
				t.Fatal(err)
			}
			if id == 0 {
				t.Fatal("no id")
			}
			check(t, id, tt.wantLevel, tt.wantParent)
		})
	}

	// The lists and joins that read accounts.
	g := new(ids)
	p := mustPost(t, db, g, city, "from the city")
	if err := db.PutFollow(ctx, &chapter.Follow{FollowerID: city.ID, TargetID: local.ID,
		State: chapter.FollowAccepted}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLink(ctx, &chapter.Link{AccountID: city.ID, Role: chapter.RoleParent, State: chapter.LinkLinked}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Post(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	followers, err := db.Followers(ctx, local.ID, chapter.FollowAccepted, 0, 0)
	if err != nil || len(followers) != 1 {
		t.Fatalf("Followers: got %d, %v", len(followers), err)
	}
	link, err := db.Link(ctx, city.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*chapter.Account{"post author": got.Author, "follower": followers[0], "link": link.Account} {
		if a.Level != chapter.LevelCity || a.ParentIRI != national {
			t.Errorf("%s: got %q %q, want %q %q", name, a.Level, a.ParentIRI, chapter.LevelCity, national)
		}
	}
}

// viaRows returns the post_via rows of a post, in node order.
func viaRows(t *testing.T, db *DB, postID int64) []string {
	t.Helper()
	rows, err := db.r.QueryContext(context.Background(),
		`SELECT node_iri FROM post_via WHERE post_id = ? ORDER BY node_iri`, postID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var nodes []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return nodes
}

func TestPostVia(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	const (
		east = "https://east.example/users/chapter"
		city = "https://city.example/users/chapter"
		nat  = "https://national.example/users/chapter"
	)
	author := mustRemote(t, db, "bob", "east.example")
	alice := mustLocal(t, db, "alice")

	tests := []struct {
		name     string
		via      []string
		update   bool     // UpdatePost the previous post to via instead of creating one
		want     []string // Post.Via read back
		wantRows []string // post_via, sorted
	}{
		{"local post: none", nil, false, nil, nil},
		{"one node", []string{east}, false, []string{east}, []string{east}},
		{"origin first, order kept", []string{east, city}, false, []string{east, city}, []string{city, east}},
		{"empty and repeated dropped", []string{"", east, city, east}, false, []string{east, city}, []string{city, east}},
		{"update extends", []string{east, city, nat}, true, []string{east, city, nat}, []string{city, east, nat}},
		{"update replaces", []string{nat}, true, []string{nat}, []string{nat}},
		{"update clears", nil, true, nil, nil},
	}
	var last *chapter.Post
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.update {
				p, err := db.Post(ctx, last.ID)
				if err != nil {
					t.Fatal(err)
				}
				p.Via = tt.via
				p.Announced = true
				if err := db.UpdatePost(ctx, p, nil); err != nil {
					t.Fatalf("UpdatePost: %v", err)
				}
			} else {
				id := g.next()
				last = &chapter.Post{ID: id, IRI: "https://east.example/p/" + tt.name, AccountID: author.ID,
					Content: "relayed", Via: tt.via}
				if tt.via == nil {
					last.AccountID = alice.ID
				}
				if err := db.CreatePost(ctx, last, nil); err != nil {
					t.Fatalf("CreatePost: %v", err)
				}
				if !slices.Equal(last.Via, tt.want) {
					t.Errorf("CreatePost left p.Via %q, want %q", last.Via, tt.want)
				}
			}
			got, err := db.Post(ctx, last.ID)
			if err != nil {
				t.Fatal(err)
			}
			byIRI, err := db.PostByIRI(ctx, last.IRI)
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string]*chapter.Post{"Post": got, "PostByIRI": byIRI} {
				if !slices.Equal(p.Via, tt.want) {
					t.Errorf("%s: Via %q, want %q", name, p.Via, tt.want)
				}
			}
			if rows := viaRows(t, db, last.ID); !slices.Equal(rows, tt.wantRows) {
				t.Errorf("post_via rows: got %q, want %q", rows, tt.wantRows)
			}
		})
	}

	// A tombstone keeps its Via; a failed create writes no rows.
	p := &chapter.Post{ID: g.next(), IRI: "https://east.example/p/gone", AccountID: author.ID, Via: []string{east}}
	if err := db.CreatePost(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePost(ctx, p.ID, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if ts, err := db.Post(ctx, p.ID); err != nil || !slices.Equal(ts.Via, []string{east}) {
		t.Errorf("tombstone: got %v, %v; want Via kept", ts, err)
	}
	dup := &chapter.Post{ID: g.next(), IRI: p.IRI, AccountID: author.ID, Via: []string{city}}
	if err := db.CreatePost(ctx, dup, nil); err == nil {
		t.Fatal("CreatePost with a taken IRI: no error")
	}
	if rows := viaRows(t, db, dup.ID); rows != nil {
		t.Errorf("post_via rows of a failed create: %q", rows)
	}
}

func TestTimelineVia(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	eastGroup := mustGroup(t, db, "east.example", chapter.LevelChapter, "")
	westGroup := mustGroup(t, db, "west.example", chapter.LevelChapter, "")
	bob := mustRemote(t, db, "bob", "east.example")
	east, west := eastGroup.ActorIRI, westGroup.ActorIRI
	const city = "https://city.example/users/chapter"
	// Posts 1..40: alice writes every 5th (local, no via); the others come
	// from the east (odd ids, by bob) or the west (even ids, by the west's
	// Group) through the city; the east's ids over 30 are replies, the
	// west's multiples of 4 unlisted, and the Group announced those under 20.
	for id := int64(1); id <= 40; id++ {
		p := &chapter.Post{ID: id, IRI: "https://x.example/" + string(rune('A'+id)), Visibility: chapter.VisibilityPublic}
		switch {
		case id%5 == 0:
			p.AccountID = alice.ID
		case id%2 == 1:
			p.AccountID, p.Via = bob.ID, []string{east, city}
			if id > 30 {
				p.InReplyToIRI = "https://x.example/B"
			}
		default:
			p.AccountID, p.Via = westGroup.ID, []string{west, city}
			if id%4 == 0 {
				p.Visibility = chapter.VisibilityUnlisted
			}
		}
		p.Announced = p.Via != nil && id < 20
		if err := db.CreatePost(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeletePost(ctx, 37, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	// ids lists the ids in [from, to] (either direction) that keep does not reject.
	ids := func(from, to int64, keep func(int64) bool) []int64 {
		var s []int64
		step := int64(1)
		if from > to {
			step = -1
		}
		for id := from; id != to+step; id += step {
			if id != 37 && keep(id) {
				s = append(s, id)
			}
		}
		return s
	}
	fromEast := func(id int64) bool { return id%5 != 0 && id%2 == 1 }
	fromWest := func(id int64) bool { return id%5 != 0 && id%2 == 0 }
	relayed := func(id int64) bool { return id%5 != 0 }

	tests := []struct {
		name string
		q    chapter.TimelineQuery
		want []int64
	}{
		{"east, newest first", chapter.TimelineQuery{Via: east}, ids(39, 1, fromEast)},
		{"west, limit", chapter.TimelineQuery{Via: west, Limit: 3}, []int64{38, 36, 34}},
		{"city: both subtrees", chapter.TimelineQuery{Via: city, Limit: 6}, []int64{39, 38, 36, 34, 33, 32}},
		{"max_id", chapter.TimelineQuery{Via: east, MaxID: 20, Limit: 3}, []int64{19, 17, 13}},
		{"since_id: newest first", chapter.TimelineQuery{Via: west, SinceID: 30}, []int64{38, 36, 34, 32}},
		{"min_id: oldest first", chapter.TimelineQuery{Via: city, MinID: 10, Limit: 4}, []int64{11, 12, 13, 14}},
		{"min_id past the deleted", chapter.TimelineQuery{Via: east, MinID: 34}, []int64{39}},
		{"max_id and since_id", chapter.TimelineQuery{Via: city, MaxID: 20, SinceID: 14}, []int64{19, 18, 17, 16}},
		{"node only", chapter.TimelineQuery{Via: city, NodeOnly: true, MaxID: 10}, ids(9, 1, relayed)},
		{"node only: none announced late", chapter.TimelineQuery{Via: city, NodeOnly: true, SinceID: 20}, nil},
		{"account", chapter.TimelineQuery{Via: city, AccountID: westGroup.ID, Limit: 2}, []int64{38, 36}},
		{"account outside the subtree", chapter.TimelineQuery{Via: east, AccountID: westGroup.ID}, nil},
		{"visibilities", chapter.TimelineQuery{Via: west, Visibilities: []chapter.Visibility{chapter.VisibilityUnlisted}},
			[]int64{36, 32, 28, 24, 16, 12, 8, 4}},
		{"exclude replies", chapter.TimelineQuery{Via: east, ExcludeReplies: true, MaxID: 34}, ids(29, 1, fromEast)},
		{"unknown node", chapter.TimelineQuery{Via: "https://nowhere.example/users/chapter"}, nil},
		{"local posts are not via anything", chapter.TimelineQuery{Via: "", AccountID: alice.ID, Limit: 3}, []int64{40, 35, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := db.Timeline(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := postIDs(ps); !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, p := range ps {
				if p.Author == nil || p.Author.ID != p.AccountID {
					t.Errorf("post %d: Author %+v", p.ID, p.Author)
				}
				if tt.q.Via != "" && !slices.Contains(p.Via, tt.q.Via) {
					t.Errorf("post %d: Via %q lacks %q", p.ID, p.Via, tt.q.Via)
				}
			}
		})
	}

	// Paging with max_id walks the whole subtree once, newest first.
	pages := []struct {
		name string
		via  string
		want []int64
	}{
		{"east", east, ids(39, 1, fromEast)},
		{"west", west, ids(38, 1, fromWest)},
		{"city", city, ids(39, 1, relayed)},
	}
	for _, pg := range pages {
		t.Run("paging "+pg.name, func(t *testing.T) {
			var got []int64
			q := chapter.TimelineQuery{Via: pg.via, Limit: 4}
			for range 50 {
				ps, err := db.Timeline(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(ps) == 0 {
					break
				}
				got = append(got, postIDs(ps)...)
				q.MaxID = ps[len(ps)-1].ID
			}
			if !equalIDs(got, pg.want) {
				t.Errorf("pages: got %v, want %v", got, pg.want)
			}
		})
	}
}

// openV1 creates a database at schema version 1 in dir, as a program of
// that version left it, with an account, a post and a follow.
func openV1(t *testing.T, dir string) (accountID, postID int64) {
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
	if err := applyMigration(ctx, w, ms[0]); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		`INSERT INTO accounts (id, username, host, kind, actor_iri, created_at, updated_at)
			VALUES (7, 'chapter', 'east.example', 'Group', 'https://east.example/users/chapter', 1, 1)`,
		`INSERT INTO accounts (id, username, kind, created_at, updated_at) VALUES (8, 'alice', 'Person', 1, 1)`,
		`INSERT INTO posts (id, iri, account_id, content, mentions, announced, created_at, updated_at)
			VALUES (100, 'https://east.example/p/1', 7, '<p>old</p>', '["https://node.example/users/alice"]', 1, 2, 2)`,
		`INSERT INTO follows (follower_id, target_id, state, created_at) VALUES (8, 7, 'accepted', 3)`,
	}
	for _, s := range stmts {
		if _, err := w.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return 7, 100
}

func TestMigrationFromV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	groupID, postID := openV1(t, dir)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		db, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		db.ws.strict = true
		latest := ms[len(ms)-1].version
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != latest {
			t.Errorf("open #%d: schema version: got %d, %v; want %d", i+1, v, err, latest)
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 2`).Scan(&n); err != nil || n != 1 {
			t.Errorf("open #%d: version 2 rows: got %d, %v; want 1", i+1, n, err)
		}

		// The v1 data is there.
		a, err := db.Account(ctx, groupID)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if a.Username != "chapter" || a.Kind != chapter.KindGroup || a.ActorIRI != "https://east.example/users/chapter" {
			t.Errorf("open #%d: account: got %+v", i+1, a)
		}
		p, err := db.Post(ctx, postID)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if p.Content != "<p>old</p>" || !p.Announced || len(p.Mentions) != 1 || p.Author.ID != groupID {
			t.Errorf("open #%d: post: got %+v", i+1, p)
		}
		if f, err := db.Follow(ctx, 8, groupID); err != nil || f.State != chapter.FollowAccepted {
			t.Errorf("open #%d: follow: got %v, %v", i+1, f, err)
		}

		if i == 0 {
			// The new fields of the old rows are empty.
			if a.Level != "" || a.ParentIRI != "" || p.Via != nil {
				t.Errorf("migrated: got level %q, parent %q, via %q; want none", a.Level, a.ParentIRI, p.Via)
			}
			if ls, err := db.Links(ctx, chapter.RoleChild); err != nil || len(ls) != 0 {
				t.Errorf("migrated: links: got %d, %v; want none", len(ls), err)
			}
			// The new schema works on the old rows.
			a.Level, a.ParentIRI = chapter.LevelChapter, "https://city.example/users/chapter"
			if err := db.UpsertRemoteAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := db.PutLink(ctx, &chapter.Link{AccountID: groupID, Role: chapter.RoleChild, State: chapter.LinkLinked}); err != nil {
				t.Fatal(err)
			}
			p.Via = []string{a.ActorIRI}
			if err := db.UpdatePost(ctx, p, nil); err != nil {
				t.Fatal(err)
			}
		} else {
			if a.Level != chapter.LevelChapter || a.ParentIRI == "" {
				t.Errorf("reopened: account level lost: %+v", a)
			}
			if _, err := db.Link(ctx, groupID); err != nil {
				t.Errorf("reopened: link: %v", err)
			}
			ps, err := db.Timeline(ctx, chapter.TimelineQuery{Via: a.ActorIRI})
			if err != nil || len(ps) != 1 || ps[0].ID != postID {
				t.Errorf("reopened: timeline via: got %d posts, %v; want the old post", len(ps), err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
