package store

import (
	"context"
	"errors"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestInteractions(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	carol := mustRemote(t, db, "carol", "remote.example")
	p := mustPost(t, db, g, alice, "like me")

	tests := []struct {
		name    string
		i       chapter.Interaction
		created bool
		err     error
	}{
		{"like", chapter.Interaction{Kind: chapter.InteractionLike, AccountID: bob.ID, PostID: p.ID,
			ActivityIRI: "https://remote.example/likes/1"}, true, nil},
		{"same like again", chapter.Interaction{Kind: chapter.InteractionLike, AccountID: bob.ID, PostID: p.ID,
			ActivityIRI: "https://remote.example/likes/2"}, false, nil},
		{"same activity again", chapter.Interaction{Kind: chapter.InteractionAnnounce, AccountID: bob.ID, PostID: p.ID,
			ActivityIRI: "https://remote.example/likes/1"}, false, nil},
		{"boost", chapter.Interaction{Kind: chapter.InteractionAnnounce, AccountID: bob.ID, PostID: p.ID,
			ActivityIRI: "https://remote.example/boosts/1"}, true, nil},
		{"another like", chapter.Interaction{Kind: chapter.InteractionLike, AccountID: carol.ID, PostID: p.ID}, true, nil},
		{"missing post", chapter.Interaction{Kind: chapter.InteractionLike, AccountID: carol.ID, PostID: 999}, false, chapter.ErrNotFound},
		{"bad kind", chapter.Interaction{Kind: "hug", AccountID: carol.ID, PostID: p.ID}, false, chapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := tt.i
			created, err := db.AddInteraction(ctx, &i)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("AddInteraction: got %v, want %v", err, tt.err)
			}
			if created != tt.created {
				t.Errorf("created: got %v, want %v", created, tt.created)
			}
		})
	}
	counts := map[chapter.InteractionKind]int{chapter.InteractionLike: 2, chapter.InteractionAnnounce: 1}
	for kind, want := range counts {
		if n, err := db.CountInteractions(ctx, p.ID, kind); err != nil || n != want {
			t.Errorf("CountInteractions(%s): got %d, %v; want %d", kind, n, err, want)
		}
	}
	if err := db.RemoveInteraction(ctx, chapter.InteractionLike, bob.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveInteraction(ctx, chapter.InteractionLike, bob.ID, p.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("RemoveInteraction twice: got %v, want ErrNotFound", err)
	}
	i, err := db.RemoveInteractionByIRI(ctx, "https://remote.example/boosts/1")
	if err != nil || i.Kind != chapter.InteractionAnnounce || i.AccountID != bob.ID || i.PostID != p.ID {
		t.Errorf("RemoveInteractionByIRI: got %+v, %v", i, err)
	}
	if _, err := db.RemoveInteractionByIRI(ctx, ""); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("RemoveInteractionByIRI(\"\"): got %v, want ErrNotFound", err)
	}
	if n, _ := db.CountInteractions(ctx, p.ID, chapter.InteractionLike); n != 1 {
		t.Errorf("likes left: got %d, want 1", n)
	}
	// The like can be given again after its undo.
	if created, err := db.AddInteraction(ctx, &chapter.Interaction{Kind: chapter.InteractionLike,
		AccountID: bob.ID, PostID: p.ID, ActivityIRI: "https://remote.example/likes/3"}); err != nil || !created {
		t.Errorf("like after undo: got %v, %v", created, err)
	}
}
