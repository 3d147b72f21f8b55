-- Back to the tables of 2026-11-27-000004_votes: rowid tables with every foreign key.
CREATE TABLE votes_old (
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    voter_id BIGINT NOT NULL REFERENCES users (id),
    receipt TEXT NOT NULL,
    voter_branch_id BIGINT,
    ip TEXT NOT NULL,
    minute BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, voter_id, nomination_id),
    UNIQUE (round_id, receipt),
    FOREIGN KEY (round_id, nomination_id) REFERENCES entries (round_id, nomination_id)
);
INSERT INTO votes_old (round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at) SELECT round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at FROM votes;
DROP TABLE votes;
ALTER TABLE votes_old RENAME TO votes;
CREATE TABLE ballots_old (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    voter_id BIGINT NOT NULL REFERENCES users (id),
    used INTEGER NOT NULL DEFAULT 0,
    max_votes INTEGER NOT NULL,
    CONSTRAINT ballots_within_limit CHECK (used >= 0 AND used <= max_votes),
    PRIMARY KEY (round_id, voter_id)
);
INSERT INTO ballots_old (round_id, voter_id, used, max_votes) SELECT round_id, voter_id, used, max_votes FROM ballots;
DROP TABLE ballots;
ALTER TABLE ballots_old RENAME TO ballots;
CREATE TABLE vote_requests_old (
    voter_id BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (voter_id, idempotency_key)
);
INSERT INTO vote_requests_old (voter_id, idempotency_key, round_id, nomination_id, receipt, withdrawn, created_at) SELECT voter_id, idempotency_key, round_id, nomination_id, receipt, withdrawn, created_at FROM vote_requests;
DROP TABLE vote_requests;
ALTER TABLE vote_requests_old RENAME TO vote_requests;
CREATE INDEX vote_requests_receipt ON vote_requests (receipt);
