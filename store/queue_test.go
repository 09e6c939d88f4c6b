package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// queued lists the queued deliveries as activity→inbox pairs.
func queued(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.Query(`SELECT a.activity_iri || ' ' || d.inbox FROM deliveries d
		JOIN activities a ON a.id = d.activity_id WHERE d.state = 'queued' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	return got
}

func TestEnqueueDedupes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	const a1, a2 = "https://node.example/a/1", "https://node.example/a/2"
	steps := []struct {
		name string
		out  []chapter.Outgoing
		err  error
		want []string
	}{
		{"first", []chapter.Outgoing{{ActivityIRI: a1, SignerID: group.ID, Body: []byte("one"),
			Inboxes: []string{"https://x.example/inbox", "https://y.example/inbox", "https://x.example/inbox", ""}}},
			nil, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox"}},
		{"same pairs again, one new inbox", []chapter.Outgoing{{ActivityIRI: a1, SignerID: group.ID, Body: []byte("ignored"),
			Inboxes: []string{"https://y.example/inbox", "https://z.example/inbox"}}},
			nil, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox", a1 + " https://z.example/inbox"}},
		{"bad inbox rolls back the call", []chapter.Outgoing{
			{ActivityIRI: a2, SignerID: group.ID, Inboxes: []string{"https://w.example/inbox"}},
			{ActivityIRI: "https://node.example/a/3", SignerID: group.ID, Inboxes: []string{"not a url"}}},
			chapter.ErrInvalid, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox", a1 + " https://z.example/inbox"}},
		{"no signer", []chapter.Outgoing{{ActivityIRI: a2, Inboxes: []string{"https://w.example/inbox"}}},
			chapter.ErrInvalid, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox", a1 + " https://z.example/inbox"}},
		{"two activities", []chapter.Outgoing{
			{ActivityIRI: a2, SignerID: group.ID, Inboxes: []string{"https://x.example/inbox"}}},
			nil, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox", a1 + " https://z.example/inbox",
				a2 + " https://x.example/inbox"}},
		{"nothing", nil, nil, []string{a1 + " https://x.example/inbox", a1 + " https://y.example/inbox",
			a1 + " https://z.example/inbox", a2 + " https://x.example/inbox"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			err := db.Enqueue(ctx, s.out)
			if !errors.Is(err, s.err) || (s.err == nil && err != nil) {
				t.Fatalf("Enqueue: got %v, want %v", err, s.err)
			}
			if got := queued(t, db); !slices.Equal(got, s.want) {
				t.Errorf("queued: got %v, want %v", got, s.want)
			}
		})
	}
	ds, err := db.ClaimDeliveries(ctx, time.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ActivityIRI == a1 && string(d.Body) != "one" {
			t.Errorf("body of %s: got %q, want the first one", a1, d.Body)
		}
	}
}

func TestClaimDeliveries(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	body := []byte(`{"type":"Announce"}`)
	inboxes := []string{"https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"}
	if err := db.Enqueue(ctx, []chapter.Outgoing{{ActivityIRI: "https://node.example/a/1", SignerID: group.ID,
		Body: body, Inboxes: inboxes}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	lease := time.Minute

	first, err := db.ClaimDeliveries(ctx, now, lease, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 {
		t.Fatalf("first claim: got %d deliveries, want 2", len(first))
	}
	for i, d := range first {
		if d.Inbox != inboxes[i] || string(d.Body) != string(body) || d.SignerID != group.ID ||
			d.ActivityIRI != "https://node.example/a/1" || d.Attempts != 0 || d.CreatedAt.IsZero() {
			t.Errorf("delivery %d: got %+v", i, d)
		}
		if want := now.Add(lease).Truncate(time.Millisecond); !d.NextAttemptAt.Equal(want) {
			t.Errorf("lease of delivery %d: got %v, want %v", i, d.NextAttemptAt, want)
		}
	}
	claims := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"leased ones are skipped", now, inboxes[2:]},
		{"all leased", now.Add(lease / 2), nil},
		{"lease passed", now.Add(lease + time.Second), inboxes},
	}
	for _, c := range claims {
		t.Run(c.name, func(t *testing.T) {
			ds, err := db.ClaimDeliveries(ctx, c.at, lease, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Inbox)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	if ds, err := db.ClaimDeliveries(ctx, now, lease, 0); err != nil || len(ds) != 0 {
		t.Errorf("limit 0: got %v, %v", ds, err)
	}
}

func TestDeliveryOutcomes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	const act = "https://node.example/a/1"
	if err := db.Enqueue(ctx, []chapter.Outgoing{{ActivityIRI: act, SignerID: group.ID,
		Inboxes: []string{"https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	ds, err := db.ClaimDeliveries(ctx, now, time.Minute, 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim: got %d, %v", len(ds), err)
	}
	a, b, c := ds[0], ds[1], ds[2]

	// a fails twice, then is dropped; b is delivered; c fails once.
	next := now.Add(10 * time.Minute)
	for i := range 2 {
		if err := db.RetryDelivery(ctx, a.ID, "503 Service Unavailable", next); err != nil {
			t.Fatalf("retry #%d: %v", i+1, err)
		}
	}
	if err := db.DeliveryDone(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RetryDelivery(ctx, c.ID, "timeout", next); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountDeliveries(ctx); n != 2 {
		t.Errorf("queued: got %d, want 2", n)
	}
	if ds, _ := db.ClaimDeliveries(ctx, next.Add(-time.Second), time.Minute, 10); len(ds) != 0 {
		t.Errorf("claimed %d deliveries before their retry time", len(ds))
	}
	ds, err = db.ClaimDeliveries(ctx, next, time.Minute, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim at retry time: got %d, %v", len(ds), err)
	}
	if ds[0].ID != a.ID || ds[0].Attempts != 2 || ds[0].LastError != "503 Service Unavailable" {
		t.Errorf("retried delivery: got %+v", ds[0])
	}
	if err := db.DropDelivery(ctx, a.ID, "gave up"); err != nil {
		t.Fatal(err)
	}
	dropped, err := db.DroppedDeliveries(ctx, 10)
	if err != nil || len(dropped) != 1 || dropped[0].ID != a.ID || dropped[0].LastError != "gave up" {
		t.Errorf("DroppedDeliveries: got %+v, %v", dropped, err)
	}
	errs := []struct {
		name string
		err  error
	}{
		{"done twice", db.DeliveryDone(ctx, b.ID)},
		{"retry a dropped one", db.RetryDelivery(ctx, a.ID, "x", next)},
		{"retry a missing one", db.RetryDelivery(ctx, 999, "x", next)},
	}
	for _, e := range errs {
		if !errors.Is(e.err, chapter.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", e.name, e.err)
		}
	}
	for _, id := range []int64{a.ID, b.ID, 999} {
		if err := db.DropDelivery(ctx, id, "again"); err != nil {
			t.Errorf("DropDelivery(%d) of a dropped or gone delivery: %v, want nil", id, err)
		}
	}
	if dropped, _ := db.DroppedDeliveries(ctx, 10); len(dropped) != 1 || dropped[0].LastError != "gave up" {
		t.Errorf("a second drop changed the reason: %+v", dropped)
	}
	// The last queued delivery done: the activity goes, with the dropped one.
	if err := db.DeliveryDone(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var acts, rows int
	if err := db.r.QueryRow(`SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM deliveries)`).Scan(&acts, &rows); err != nil {
		t.Fatal(err)
	}
	if acts != 0 || rows != 0 {
		t.Errorf("after the last delivery: %d activities, %d deliveries left; want 0, 0", acts, rows)
	}
}

func TestInstanceHealth(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	steps := []struct {
		name      string
		do        func() (time.Time, error)
		wantSince time.Time
	}{
		{"first failure starts the streak", func() (time.Time, error) { return db.InstanceFailed(ctx, "Flaky.Example", t0) }, t0},
		{"later failures keep it", func() (time.Time, error) {
			return db.InstanceFailed(ctx, "flaky.example", t0.Add(time.Hour))
		}, t0},
		{"success ends it", func() (time.Time, error) { return time.Time{}, db.InstanceSucceeded(ctx, "flaky.example") }, time.Time{}},
		{"a new streak", func() (time.Time, error) {
			return db.InstanceFailed(ctx, "flaky.example", t0.Add(2*time.Hour))
		}, t0.Add(2 * time.Hour)},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			since, err := s.do()
			if err != nil {
				t.Fatal(err)
			}
			if !since.Equal(s.wantSince) {
				t.Errorf("since: got %v, want %v", since, s.wantSince)
			}
		})
	}
	if err := db.InstanceSucceeded(ctx, "never-failed.example"); err != nil {
		t.Errorf("InstanceSucceeded of an unknown host: %v", err)
	}
}

func TestDeadInstance(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	enqueue := func(iri string) {
		t.Helper()
		if err := db.Enqueue(ctx, []chapter.Outgoing{{ActivityIRI: iri, SignerID: group.ID,
			Inboxes: []string{"https://dead.example/inbox", "https://alive.example/inbox"}}}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("https://node.example/a/1")
	enqueue("https://node.example/a/2")
	if dead, err := db.InstanceDead(ctx, "dead.example"); err != nil || dead {
		t.Errorf("InstanceDead before marking: got %v, %v", dead, err)
	}
	if err := db.MarkInstanceDead(ctx, "DEAD.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	if dead, err := db.InstanceDead(ctx, "dead.example"); err != nil || !dead {
		t.Errorf("InstanceDead: got %v, %v; want true", dead, err)
	}
	enqueue("https://node.example/a/3")
	want := []string{"https://node.example/a/1 https://alive.example/inbox",
		"https://node.example/a/2 https://alive.example/inbox", "https://node.example/a/3 https://alive.example/inbox"}
	if got := queued(t, db); !slices.Equal(got, want) {
		t.Errorf("queued while dead: got %v, want %v", got, want)
	}
	// Once the deliveries to alive.example are done, the activities go.
	ds, err := db.ClaimDeliveries(ctx, time.Now().Add(time.Second), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if err := db.DeliveryDone(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	var acts int
	if err := db.r.QueryRow(`SELECT count(*) FROM activities`).Scan(&acts); err != nil || acts != 0 {
		t.Errorf("activities left: got %d, %v; want 0", acts, err)
	}
	// Heard from again: no longer dead, deliveries queue again.
	if err := db.InstanceSucceeded(ctx, "dead.example"); err != nil {
		t.Fatal(err)
	}
	if dead, _ := db.InstanceDead(ctx, "dead.example"); dead {
		t.Error("still dead after InstanceSucceeded")
	}
	enqueue("https://node.example/a/4")
	if n, _ := db.CountDeliveries(ctx); n != 2 {
		t.Errorf("queued after recovery: got %d, want 2", n)
	}
}
