-- Chapterhouse schema, version 1.
--
-- Conventions: every time is INTEGER unix milliseconds (UTC); a time that
-- has not happened yet (deleted_at, read_at, processed_at, …) is NULL. Text
-- columns that may be unknown are NOT NULL DEFAULT '' so the Go side never
-- scans NULL strings; columns whose emptiness must not collide in a UNIQUE
-- index store NULL instead (notifications.deduping_key,
-- inbox_items.activity_iri) or use a partial index (WHERE x <> '').

-- Accounts: local members (host ''), the node's Group, remote actors.
CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,
    username         TEXT    NOT NULL COLLATE NOCASE,
    host             TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    kind             TEXT    NOT NULL DEFAULT 'Person',
    display_name     TEXT    NOT NULL DEFAULT '',
    bio              TEXT    NOT NULL DEFAULT '',
    role             TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL DEFAULT '',
    actor_iri        TEXT    NOT NULL DEFAULT '',
    inbox_iri        TEXT    NOT NULL DEFAULT '',
    shared_inbox_iri TEXT    NOT NULL DEFAULT '',
    followers_iri    TEXT    NOT NULL DEFAULT '',
    url              TEXT    NOT NULL DEFAULT '',
    avatar_url       TEXT    NOT NULL DEFAULT '',
    public_key_id    TEXT    NOT NULL DEFAULT '',
    public_key_pem   TEXT    NOT NULL DEFAULT '',
    locked           INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    fetched_at       INTEGER
);
-- Handles are case-insensitive, as on Mastodon.
CREATE UNIQUE INDEX accounts_handle ON accounts (username, host);
CREATE UNIQUE INDEX accounts_actor_iri ON accounts (actor_iri) WHERE actor_iri <> '';
CREATE INDEX accounts_key_id ON accounts (public_key_id) WHERE public_key_id <> '';
-- AccountsWithoutKey.
CREATE INDEX accounts_local ON accounts (id) WHERE host = '';
-- Members, CountMembers.
CREATE INDEX accounts_state ON accounts (state, id);
-- RemoveFollowersAt.
CREATE INDEX accounts_inbox ON accounts (inbox_iri) WHERE inbox_iri <> '';
CREATE INDEX accounts_shared_inbox ON accounts (shared_inbox_iri) WHERE shared_inbox_iri <> '';

-- Key pairs of local accounts.
CREATE TABLE keys (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    private_pem TEXT NOT NULL,
    public_pem  TEXT NOT NULL
);

-- Posts and tombstones. id is the caller's time-ordered snowflake. local
-- copies "author host = ''" (an account never changes host) so that the
-- node's public timeline is one partial index.
CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    iri             TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL DEFAULT '',
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    local           INTEGER NOT NULL DEFAULT 0,
    content         TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    summary         TEXT    NOT NULL DEFAULT '',
    sensitive       INTEGER NOT NULL DEFAULT 0,
    language        TEXT    NOT NULL DEFAULT '',
    visibility      TEXT    NOT NULL DEFAULT 'public',
    -- No foreign key: the parent may arrive later, or be deleted.
    in_reply_to_id  INTEGER,
    in_reply_to_iri TEXT    NOT NULL DEFAULT '',
    -- JSON array of actor IRIs, '' when none.
    mentions        TEXT    NOT NULL DEFAULT '',
    announced       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE UNIQUE INDEX posts_iri ON posts (iri) WHERE iri <> '';
-- Account timelines, CountPosts, and the cascade from accounts.
CREATE INDEX posts_account ON posts (account_id, id);
-- Replies.
CREATE INDEX posts_replies ON posts (in_reply_to_id, id) WHERE in_reply_to_id IS NOT NULL;
-- Orphan replies waiting for their parent.
CREATE INDEX posts_orphans ON posts (in_reply_to_iri)
    WHERE in_reply_to_id IS NULL AND in_reply_to_iri <> '';
-- The node's public timeline (Timeline with NodeOnly).
CREATE INDEX posts_node ON posts (id)
    WHERE deleted_at IS NULL AND (local = 1 OR announced = 1);
-- CountPosts(0).
CREATE INDEX posts_local ON posts (id) WHERE deleted_at IS NULL AND local = 1;

-- Follows, in both directions across the network.
CREATE TABLE follows (
    follower_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state        TEXT    NOT NULL,
    activity_iri TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (follower_id, target_id)
) WITHOUT ROWID;
CREATE INDEX follows_target ON follows (target_id, state, created_at);
CREATE INDEX follows_follower ON follows (follower_id, state, created_at);
CREATE INDEX follows_activity ON follows (activity_iri) WHERE activity_iri <> '';

-- Likes and boosts. The unique index leads with post_id so that it also
-- serves CountInteractions and the cascade from posts.
CREATE TABLE interactions (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id      INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    activity_iri TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX interactions_key ON interactions (post_id, kind, account_id);
CREATE UNIQUE INDEX interactions_activity ON interactions (activity_iri) WHERE activity_iri <> '';
CREATE INDEX interactions_account ON interactions (account_id);

-- Notifications of local members. deduping_key is NULL when the caller
-- gave none, so such notifications never collide.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type         TEXT    NOT NULL,
    from_id      INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    post_id      INTEGER REFERENCES posts (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER,
    deduping_key TEXT UNIQUE
);
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE INDEX notifications_from ON notifications (from_id);
CREATE INDEX notifications_post ON notifications (post_id);

-- API bearer tokens, by hash.
CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_account ON tokens (account_id);

-- Outgoing activities. A row lives while it has queued deliveries: it is
-- deleted (with its dropped deliveries) when the last one is done or dropped.
CREATE TABLE activities (
    id           INTEGER PRIMARY KEY,
    activity_iri TEXT    NOT NULL UNIQUE,
    signer_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    body         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX activities_signer ON activities (signer_id);

-- One request: one activity to one inbox. Done deliveries are deleted;
-- dropped ones stay (state 'dropped', last_error says why) until their
-- activity goes.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    activity_id     INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox           TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'dropped')),
    UNIQUE (activity_id, inbox)
);
-- ClaimDeliveries, CountDeliveries. (No index on host: with deliveries to
-- a thousand hosts in one transaction it would dirty most of its pages;
-- MarkInstanceDead, which is rare, scans the queue instead.)
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'queued';

-- Remote servers' health.
CREATE TABLE instances (
    host            TEXT PRIMARY KEY,
    failing_since   INTEGER,
    last_failure_at INTEGER,
    dead_at         INTEGER
) WITHOUT ROWID;
CREATE INDEX instances_dead ON instances (host) WHERE dead_at IS NOT NULL;

-- Activities received in inboxes. activity_iri is NULL when the activity
-- had no id, so those are never taken for repeats.
CREATE TABLE inbox_items (
    id           INTEGER PRIMARY KEY,
    activity_iri TEXT UNIQUE,
    actor_iri    TEXT    NOT NULL DEFAULT '',
    body         BLOB    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    error        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX inbox_items_pending ON inbox_items (id) WHERE processed_at IS NULL;

-- Domains this node refuses to federate with (lower case).
CREATE TABLE domain_blocks (
    host       TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
