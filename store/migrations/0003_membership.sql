-- Chapterhouse schema, version 3: what the website needs beyond
-- federation.

-- What a person gave when applying to join. The e-mail and the
-- application are for the admins; the region lets members find each other
-- (MembersByRegion). Remote actors have none of them.
ALTER TABLE accounts ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN region TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
ALTER TABLE accounts ADD COLUMN application TEXT NOT NULL DEFAULT '';
-- MembersByRegion: the members in a state who gave a region, in the
-- order of the page, so that the LIKE (which no index can serve) reads
-- only them and stops at the limit.
CREATE INDEX accounts_region ON accounts (state, display_name COLLATE NOCASE, id)
    WHERE region <> '';

-- Members' password hashes (never the passwords), one per account.
CREATE TABLE credentials (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    password_hash TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Members following the replies of a thread, by its root post. The key
-- leads with the post: ThreadFollowers, FollowsThread and the cascade from
-- posts; the index serves the cascade from accounts.
CREATE TABLE thread_follows (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, account_id)
) WITHOUT ROWID;
CREATE INDEX thread_follows_account ON thread_follows (account_id);

-- The admins' actions. An entry outlives its actor (actor_id turns NULL).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
-- The SET NULL from accounts.
CREATE INDEX audit_log_actor ON audit_log (actor_id);

-- CountUnreadNotifications and MarkNotificationsRead: an account's unread
-- notifications only.
CREATE INDEX notifications_unread ON notifications (account_id, id) WHERE read_at IS NULL;
