-- Chapterhouse schema, version 2: the organization's tree.

-- What a remote Chapterhouse Group declares of its place in the tree: its
-- level and its parent's actor IRI. Empty for other actors.
ALTER TABLE accounts ADD COLUMN level TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN parent_iri TEXT NOT NULL DEFAULT '';

-- The Group actors a relayed post came through, origin first: a JSON
-- array of actor IRIs, '' when none (local posts, ordinary remote posts).
ALTER TABLE posts ADD COLUMN via TEXT NOT NULL DEFAULT '';

-- The same IRIs, one row each, for Timeline with Via: the subtree of a
-- node. Written with the post; a post with no via has no rows. The key
-- leads with the node so that a node's posts are one range, newest first.
CREATE TABLE post_via (
    node_iri TEXT    NOT NULL,
    post_id  INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (node_iri, post_id DESC)
) WITHOUT ROWID;
-- UpdatePost, and the cascade from posts.
CREATE INDEX post_via_post ON post_via (post_id);

-- This node's links to its parent and to its member chapters. A link is
-- to a Group account; it goes with the account.
CREATE TABLE links (
    account_id       INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    role             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER
);
-- Links(role), oldest first (account_id, the rowid, breaks ties).
CREATE INDEX links_role ON links (role, created_at);
