package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestSaveInbox(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		item    chapter.InboxItem
		created bool
	}{
		{"new", chapter.InboxItem{ActivityIRI: "https://r.example/1", ActorIRI: "https://r.example/u", Body: []byte("1")}, true},
		{"repeat", chapter.InboxItem{ActivityIRI: "https://r.example/1", ActorIRI: "https://r.example/u", Body: []byte("1b")}, false},
		{"another", chapter.InboxItem{ActivityIRI: "https://r.example/2", Body: []byte("2")}, true},
		{"no id", chapter.InboxItem{Body: []byte("3")}, true},
		{"no id again", chapter.InboxItem{Body: []byte("4")}, true},
	}
	var ids []int64
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			item := s.item
			created, err := db.SaveInbox(ctx, &item)
			if err != nil {
				t.Fatal(err)
			}
			if created != s.created {
				t.Errorf("created: got %v, want %v", created, s.created)
			}
			if created != (item.ID != 0) {
				t.Errorf("ID %d with created %v", item.ID, created)
			}
			if created {
				ids = append(ids, item.ID)
			}
		})
	}
	pending, err := db.PendingInbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, it := range pending {
		got = append(got, it.ID)
	}
	if !equalIDs(got, ids) {
		t.Fatalf("PendingInbox: got %v, want %v (oldest first)", got, ids)
	}
	if p := pending[0]; p.ActivityIRI != "https://r.example/1" || p.ActorIRI != "https://r.example/u" ||
		string(p.Body) != "1" || p.ReceivedAt.IsZero() {
		t.Errorf("first pending item: got %+v", p)
	}
	if err := db.InboxDone(ctx, ids[0], ""); err != nil {
		t.Fatal(err)
	}
	if err := db.InboxDone(ctx, ids[1], "unknown activity type"); err != nil {
		t.Fatal(err)
	}
	if err := db.InboxDone(ctx, 999, ""); err == nil {
		t.Error("InboxDone of a missing item: got no error")
	}
	pending, _ = db.PendingInbox(ctx, 10)
	if len(pending) != 2 {
		t.Errorf("pending after InboxDone: got %d, want 2", len(pending))
	}
	// Processed items still deduplicate.
	if created, err := db.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: "https://r.example/1"}); err != nil || created {
		t.Errorf("repeat of a processed item: got %v, %v; want not created", created, err)
	}
	var errText string
	var bodyLen int
	if err := db.r.QueryRow(`SELECT error, length(body) FROM inbox_items WHERE id = ?`, ids[1]).Scan(&errText, &bodyLen); err != nil {
		t.Fatal(err)
	}
	if errText != "unknown activity type" || bodyLen == 0 {
		t.Errorf("failed item: error %q, body %d bytes; want the error and the body kept", errText, bodyLen)
	}

	n, err := db.PruneInbox(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 2 {
		t.Errorf("PruneInbox: got %d, %v; want 2", n, err)
	}
	if created, err := db.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: "https://r.example/1"}); err != nil || !created {
		t.Errorf("after pruning, the activity is new again: got %v, %v", created, err)
	}
}

func TestSaveInboxConcurrentRepeats(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	const senders, activities = 16, 50
	var created atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range activities {
				ok, err := db.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: fmt.Sprintf("https://r.example/%d", i)})
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					created.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := created.Load(); got != activities {
		t.Errorf("created: got %d, want %d (each activity once)", got, activities)
	}
	pending, err := db.PendingInbox(ctx, 1000)
	if err != nil || len(pending) != activities {
		t.Errorf("pending: got %d, %v; want %d", len(pending), err, activities)
	}
}

func TestSaveInboxBatches(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	// Items under /bad/ fail to insert, which fails the batch they are in;
	// the others in that batch must still be saved.
	if _, err := db.w.ExecContext(ctx, `CREATE TEMP TRIGGER refuse BEFORE INSERT ON inbox_items
		WHEN NEW.activity_iri LIKE '%/bad/%' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	const callers = 96
	var wg sync.WaitGroup
	var saved atomic.Int64
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			item := &chapter.InboxItem{ActivityIRI: fmt.Sprintf("https://r.example/ok/%d", i)}
			cctx := ctx
			switch i % 6 {
			case 0: // a caller that gave up
				var cancel context.CancelFunc
				cctx, cancel = context.WithCancel(ctx)
				cancel()
			case 1: // an item that cannot be saved
				item.ActivityIRI = fmt.Sprintf("https://r.example/bad/%d", i)
			}
			ok, err := db.SaveInbox(cctx, item)
			switch i % 6 {
			case 0:
				if err == nil && ok {
					saved.Add(1)
				}
			case 1:
				if err == nil {
					t.Errorf("item %d: saved despite the trigger", i)
				}
			default:
				if err != nil || !ok {
					t.Errorf("item %d: got %v, %v", i, ok, err)
				}
				saved.Add(1)
			}
		}()
	}
	wg.Wait()
	pending, err := db.PendingInbox(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(len(pending)), saved.Load(); got != want {
		t.Errorf("pending: got %d, want %d", got, want)
	}
}
