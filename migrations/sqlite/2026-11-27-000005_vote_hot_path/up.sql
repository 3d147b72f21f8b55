-- Votes arrive thousands a second. Two changes to what each one costs:
-- * The foreign keys to users and rounds go: each cost every vote a lookup,
--   for no protection (accounts are never deleted, only deactivated; every
--   voter is an authenticated account; a round can only be deleted while
--   pending, before any vote). The key that states a rule stays: a vote
--   names an entry of its round (votes → entries).
-- * The tables become WITHOUT ROWID: one B-tree keyed by the primary key
--   instead of a table plus an index that repeats it, so a vote writes (and
--   the WAL carries) fewer pages.
CREATE TABLE votes_new (
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    voter_id BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    voter_branch_id BIGINT,
    ip TEXT NOT NULL,
    minute BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, voter_id, nomination_id),
    UNIQUE (round_id, receipt),
    FOREIGN KEY (round_id, nomination_id) REFERENCES entries (round_id, nomination_id)
) WITHOUT ROWID;
INSERT INTO votes_new SELECT round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at
FROM votes;
DROP TABLE votes;
ALTER TABLE votes_new RENAME TO votes;

CREATE TABLE ballots_new (
    round_id BIGINT NOT NULL,
    voter_id BIGINT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    max_votes INTEGER NOT NULL,
    CONSTRAINT ballots_within_limit CHECK (used >= 0 AND used <= max_votes),
    PRIMARY KEY (round_id, voter_id)
) WITHOUT ROWID;
INSERT INTO ballots_new SELECT round_id, voter_id, used, max_votes FROM ballots;
DROP TABLE ballots;
ALTER TABLE ballots_new RENAME TO ballots;

CREATE TABLE vote_requests_new (
    voter_id BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (voter_id, idempotency_key)
) WITHOUT ROWID;
INSERT INTO vote_requests_new
SELECT voter_id, idempotency_key, round_id, nomination_id, receipt, withdrawn, created_at FROM vote_requests;
DROP TABLE vote_requests;
ALTER TABLE vote_requests_new RENAME TO vote_requests;
CREATE INDEX vote_requests_receipt ON vote_requests (receipt);
