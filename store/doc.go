// Package store implements chapter.Store on SQLite, with the pure-Go driver
// modernc.org/sqlite (no cgo).
//
// # Files and connections
//
// [Open] keeps everything in one file, dataDir/chapterhouse.db (mode 0600,
// in a 0700 directory), in WAL mode with synchronous=NORMAL, foreign keys
// on and a 5 s busy timeout on every connection. SQLite admits one writer
// at a time, so the DB holds two pools on the file: a writer pool of a
// single connection that runs every write and every read-write
// transaction (BEGIN IMMEDIATE), and a pool of read-only connections for
// reads, which WAL lets run alongside the writer. Writes therefore queue
// in Go rather than fail with SQLITE_BUSY, and no read transaction ever
// has to be upgraded to a write one.
//
// # Schema
//
// The schema is built by embedded, numbered migrations
// (migrations/0001_init.sql, …), each applied once in its own transaction
// and recorded in schema_migrations. Times are stored as unix milliseconds;
// times that have not happened (a post's deletion, a notification's
// reading) are NULL and read back as the zero time.
//
// # Errors
//
// Methods wrap the sentinels of package chapter: a missing row is
// chapter.ErrNotFound, a taken unique key chapter.ErrConflict, a reference
// to a missing row (a foreign key) chapter.ErrNotFound, bad input
// chapter.ErrInvalid, and an operation on a tombstone chapter.ErrGone.
//
// # Queue
//
// Outgoing activities are written with the change that caused them
// (the out arguments) and delivered from the deliveries table. A delivery
// that succeeds is deleted; one that is given up on is marked dropped.
// When an activity has no queued delivery left, its row goes, and its
// dropped deliveries with it. Deliveries to an instance marked dead are
// dropped when it is marked and queued as dropped while it stays dead.
//
// Received activities stay in inbox_items after processing, so that a
// repeat is recognised; [DB.PruneInbox] removes old processed items.
package store
