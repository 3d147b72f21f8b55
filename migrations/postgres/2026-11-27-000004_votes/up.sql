-- Employee votes. One row per counted vote; a withdrawn vote is deleted, so
-- the ledger (receipt, nomination) is exactly what counts. The voter, their
-- branch and address are kept for the limits and the anomaly report and
-- never leave the service.
CREATE TABLE votes (
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    voter_id BIGINT NOT NULL REFERENCES users (id),
    receipt TEXT NOT NULL,
    voter_branch_id BIGINT,
    ip TEXT NOT NULL,
    minute BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- One vote per voter and entry.
    PRIMARY KEY (round_id, voter_id, nomination_id),
    -- The ledger, in receipt order.
    UNIQUE (round_id, receipt),
    FOREIGN KEY (round_id, nomination_id) REFERENCES entries (round_id, nomination_id)
);

-- Votes a voter has used in a round, and the round's limit: the CHECK makes
-- the database refuse a vote beyond it, however many requests race.
CREATE TABLE ballots (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    voter_id BIGINT NOT NULL REFERENCES users (id),
    used INTEGER NOT NULL DEFAULT 0,
    max_votes INTEGER NOT NULL,
    CONSTRAINT ballots_within_limit CHECK (used >= 0 AND used <= max_votes),
    PRIMARY KEY (round_id, voter_id)
);

-- Idempotency-Key → the vote it made: a retry gets the same receipt.
CREATE TABLE vote_requests (
    voter_id BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    -- Set when the vote is withdrawn: the key keeps answering, with 409.
    withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (voter_id, idempotency_key)
);
CREATE INDEX vote_requests_receipt ON vote_requests (receipt);
