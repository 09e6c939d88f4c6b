package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qActivityInsert = `INSERT INTO activities (activity_iri, signer_id, body, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (activity_iri) DO NOTHING RETURNING id`
	qActivityID = `SELECT id FROM activities WHERE activity_iri = ?`
	// One statement for any number of inboxes: ?3 is a JSON array of
	// [inbox, host, state]. (WHERE true tells the parser that ON CONFLICT
	// starts the upsert clause, not a join constraint.)
	qDeliveriesInsert = `INSERT INTO deliveries (activity_id, inbox, host, next_attempt_at, created_at, state)
		SELECT ?1, j.value ->> 0, j.value ->> 1, ?2, ?2, j.value ->> 2 FROM json_each(?3) j WHERE true
		ON CONFLICT (activity_id, inbox) DO NOTHING`
	qDeadHosts   = `SELECT host FROM instances WHERE dead_at IS NOT NULL`
	qClaimSelect = `SELECT d.id, d.activity_id, a.activity_iri, a.signer_id,
		a.body, d.inbox, d.attempts, d.created_at, d.last_error
		FROM deliveries d JOIN activities a ON a.id = d.activity_id
		WHERE d.state = 'queued' AND d.next_attempt_at <= ?
		ORDER BY d.next_attempt_at, d.id LIMIT ?`
	qClaimLease     = `UPDATE deliveries SET next_attempt_at = ? WHERE id IN (SELECT value FROM json_each(?))`
	qDeliveryDelete = `DELETE FROM deliveries WHERE id = ? RETURNING activity_id`
	qDeliveryRetry  = `UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND state = 'queued'`
	qDeliveryDrop = `UPDATE deliveries SET state = 'dropped', last_error = ?
		WHERE id = ? AND state = 'queued' RETURNING activity_id`
	qActivityDeleteIfDone = `DELETE FROM activities WHERE id = ?1 AND NOT EXISTS
		(SELECT 1 FROM deliveries WHERE activity_id = ?1 AND state = 'queued')`
	qCountDeliveries = `SELECT count(*) FROM deliveries WHERE state = 'queued'`
	qDropped         = `SELECT d.id, a.activity_iri, a.signer_id, d.inbox,
		d.attempts, d.next_attempt_at, d.created_at, d.last_error
		FROM deliveries d JOIN activities a ON a.id = d.activity_id
		WHERE d.state = 'dropped' ORDER BY d.id DESC LIMIT ?`
	qInstanceFailed = `INSERT INTO instances (host, failing_since, last_failure_at)
		VALUES (?1, ?2, ?2)
		ON CONFLICT (host) DO UPDATE SET
			failing_since = COALESCE(failing_since, excluded.failing_since),
			last_failure_at = excluded.last_failure_at
		RETURNING failing_since`
	qInstanceKnown  = `SELECT count(*) FROM instances WHERE host = ?`
	qInstanceDelete = `DELETE FROM instances WHERE host = ?`
	qInstanceDead   = `INSERT INTO instances (host, dead_at) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET dead_at = COALESCE(dead_at, excluded.dead_at)`
	qDeliveriesDropHost = `UPDATE deliveries SET state = 'dropped', last_error = 'instance dead'
		WHERE host = ? AND state = 'queued' RETURNING activity_id`
	qInstanceIsDead = `SELECT dead_at IS NOT NULL FROM instances WHERE host = ?`
)

// Enqueue implements chapter.QueueStore.
func (db *DB) Enqueue(ctx context.Context, out []chapter.Outgoing) error {
	if len(out) == 0 {
		return nil
	}
	return db.withTx(ctx, func(tx *sql.Tx) error { return db.enqueue(ctx, tx, out) })
}

// enqueue writes out in tx: each activity once (an ActivityIRI already
// stored keeps its row and body), and one delivery per new (activity,
// inbox) pair. Deliveries to instances marked dead are written as dropped.
func (db *DB) enqueue(ctx context.Context, tx *sql.Tx, out []chapter.Outgoing) error {
	if len(out) == 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	var dead map[string]bool
	for _, o := range out {
		if o.ActivityIRI == "" || o.SignerID == 0 {
			return fmt.Errorf("store: enqueue: activity IRI and signer are required: %w", chapter.ErrInvalid)
		}
		hosts, err := inboxHosts(o.Inboxes)
		if err != nil {
			return fmt.Errorf("store: enqueue %s: %w", o.ActivityIRI, err)
		}
		body := o.Body
		if body == nil {
			body = []byte{}
		}
		var id int64
		err = db.execRow(ctx, tx, qActivityInsert, o.ActivityIRI, o.SignerID, body, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = db.execRow(ctx, tx, qActivityID, o.ActivityIRI).Scan(&id)
		}
		if err != nil {
			return errf(err, "enqueue %s", o.ActivityIRI)
		}
		if len(hosts) == 0 {
			continue
		}
		if dead == nil {
			if dead, err = db.deadHosts(ctx, tx); err != nil {
				return errf(err, "enqueue %s", o.ActivityIRI)
			}
		}
		rows := make([][3]string, len(hosts))
		for i, ih := range hosts {
			state := "queued"
			if dead[ih.host] {
				state = "dropped"
			}
			rows[i] = [3]string{ih.inbox, ih.host, state}
		}
		js, err := json.Marshal(rows)
		if err != nil {
			return fmt.Errorf("store: enqueue %s: %w", o.ActivityIRI, err)
		}
		if _, err := db.exec(ctx, tx, qDeliveriesInsert, id, now, string(js)); err != nil {
			return errf(err, "enqueue %s", o.ActivityIRI)
		}
	}
	return nil
}

// inboxHost is an inbox URL with its host.
type inboxHost struct{ inbox, host string }

// inboxHosts parses the inboxes, skipping empty and repeated ones.
func inboxHosts(inboxes []string) ([]inboxHost, error) {
	hs := make([]inboxHost, 0, len(inboxes))
	seen := make(map[string]bool, len(inboxes))
	for _, in := range inboxes {
		if in == "" || seen[in] {
			continue
		}
		seen[in] = true
		u, err := url.Parse(in)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("inbox %q is not an absolute URL: %w", in, chapter.ErrInvalid)
		}
		hs = append(hs, inboxHost{inbox: in, host: strings.ToLower(u.Host)})
	}
	return hs, nil
}

// deadHosts reads the instances marked dead.
func (db *DB) deadHosts(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := db.execRows(ctx, tx, qDeadHosts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dead := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		dead[h] = true
	}
	return dead, rows.Err()
}

// ClaimDeliveries implements chapter.QueueStore. The deliveries come in
// order of due time; each one's NextAttemptAt is the end of its lease, and
// the deliveries of one activity share one Body (do not modify it).
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*chapter.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	until := now.Add(lease).UnixMilli()
	var ds []*chapter.Delivery
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := db.execRows(ctx, tx, qClaimSelect, now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		bodies := map[int64][]byte{}
		ids := make([]int64, 0, limit)
		for rows.Next() {
			d := new(chapter.Delivery)
			var activityID int64
			var body sql.RawBytes
			if err := rows.Scan(&d.ID, &activityID, &d.ActivityIRI, &d.SignerID, &body, &d.Inbox,
				&d.Attempts, timeDest{&d.CreatedAt}, &d.LastError); err != nil {
				return err
			}
			if b, ok := bodies[activityID]; ok {
				d.Body = b
			} else {
				d.Body = append([]byte{}, body...)
				bodies[activityID] = d.Body
			}
			d.NextAttemptAt = fromMillis(until)
			ds = append(ds, d)
			ids = append(ids, d.ID)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = db.exec(ctx, tx, qClaimLease, until, jsonIDs(ids))
		return err
	})
	if err != nil {
		return nil, errf(err, "claim deliveries")
	}
	return ds, nil
}

// DeliveryDone implements chapter.QueueStore; ErrNotFound when the
// delivery is not there (any more).
func (db *DB) DeliveryDone(ctx context.Context, id int64) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var activityID int64
		err := db.execRow(ctx, tx, qDeliveryDelete, id).Scan(&activityID)
		if err == nil {
			err = db.dropActivityIfDone(ctx, tx, activityID)
		}
		return errf(err, "delivery %d done", id)
	})
}

// RetryDelivery implements chapter.QueueStore: it counts the attempt.
// ErrNotFound when the delivery is not queued.
func (db *DB) RetryDelivery(ctx context.Context, id int64, lastError string, next time.Time) error {
	res, err := db.exec(ctx, nil, qDeliveryRetry, lastError, next.UnixMilli(), id)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "retry delivery %d", id)
}

// DropDelivery implements chapter.QueueStore: the delivery stays, marked
// dropped with the reason, until its activity has no queued delivery left.
// Dropping a delivery that is already dropped or gone (MarkInstanceDead
// drops the deliveries in flight to the host) does nothing.
func (db *DB) DropDelivery(ctx context.Context, id int64, reason string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var activityID int64
		err := db.execRow(ctx, tx, qDeliveryDrop, reason, id).Scan(&activityID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err == nil {
			err = db.dropActivityIfDone(ctx, tx, activityID)
		}
		return errf(err, "drop delivery %d", id)
	})
}

// dropActivityIfDone deletes the activity, and its dropped deliveries, when
// none of its deliveries is queued any more.
func (db *DB) dropActivityIfDone(ctx context.Context, tx *sql.Tx, activityID int64) error {
	_, err := db.exec(ctx, tx, qActivityDeleteIfDone, activityID)
	return err
}

// CountDeliveries implements chapter.QueueStore.
func (db *DB) CountDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountDeliveries).Scan(&n)
	return n, errf(err, "count deliveries")
}

// DroppedDeliveries lists the dropped deliveries still kept (those whose
// activity has queued deliveries left), newest first, without Body; limit
// defaults to 100.
func (db *DB) DroppedDeliveries(ctx context.Context, limit int) ([]*chapter.Delivery, error) {
	rows, err := db.read(ctx, nil, qDropped, limitOr(limit, 100, 1000))
	if err != nil {
		return nil, errf(err, "dropped deliveries")
	}
	defer rows.Close()
	var ds []*chapter.Delivery
	for rows.Next() {
		d := new(chapter.Delivery)
		if err := rows.Scan(&d.ID, &d.ActivityIRI, &d.SignerID, &d.Inbox, &d.Attempts,
			timeDest{&d.NextAttemptAt}, timeDest{&d.CreatedAt}, &d.LastError); err != nil {
			return nil, errf(err, "dropped deliveries")
		}
		ds = append(ds, d)
	}
	return ds, errf(rows.Err(), "dropped deliveries")
}

// InstanceFailed implements chapter.QueueStore: the streak starts at the
// first failure after the last success. Hosts compare case-insensitively.
func (db *DB) InstanceFailed(ctx context.Context, host string, at time.Time) (time.Time, error) {
	at = orNow(at)
	var since int64
	if err := db.execRow(ctx, nil, qInstanceFailed, strings.ToLower(host), at.UnixMilli()).Scan(&since); err != nil {
		return time.Time{}, errf(err, "instance %s failed", host)
	}
	return fromMillis(since), nil
}

// InstanceSucceeded implements chapter.QueueStore. It is called after
// every successful request, so it looks on a reader first and takes the
// writer only when there is a streak or mark to clear.
func (db *DB) InstanceSucceeded(ctx context.Context, host string) error {
	host = strings.ToLower(host)
	var n int
	if err := db.readRow(ctx, nil, qInstanceKnown, host).Scan(&n); err != nil {
		return errf(err, "instance %s succeeded", host)
	}
	if n == 0 {
		return nil
	}
	_, err := db.exec(ctx, nil, qInstanceDelete, host)
	return errf(err, "instance %s succeeded", host)
}

// MarkInstanceDead implements chapter.QueueStore: the deliveries queued
// for host are dropped now, and later ones are queued as dropped, until
// InstanceSucceeded clears the mark (call it too when the instance is
// heard from, for example when its activities reach the inbox).
func (db *DB) MarkInstanceDead(ctx context.Context, host string, at time.Time) error {
	host = strings.ToLower(host)
	at = orNow(at)
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, qInstanceDead, host, at.UnixMilli()); err != nil {
			return errf(err, "mark instance %s dead", host)
		}
		rows, err := db.execRows(ctx, tx, qDeliveriesDropHost, host)
		if err != nil {
			return errf(err, "mark instance %s dead", host)
		}
		var activities []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return errf(err, "mark instance %s dead", host)
			}
			activities = append(activities, id)
		}
		if err := rows.Close(); err != nil {
			return errf(err, "mark instance %s dead", host)
		}
		if err := rows.Err(); err != nil {
			return errf(err, "mark instance %s dead", host)
		}
		slices.Sort(activities)
		for _, id := range slices.Compact(activities) {
			if err := db.dropActivityIfDone(ctx, tx, id); err != nil {
				return errf(err, "mark instance %s dead", host)
			}
		}
		return nil
	})
}

// InstanceDead implements chapter.QueueStore.
func (db *DB) InstanceDead(ctx context.Context, host string) (bool, error) {
	var dead bool
	err := db.readRow(ctx, nil, qInstanceIsDead, strings.ToLower(host)).Scan(&dead)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return dead, errf(err, "instance %s", host)
}
