-- Back to 2026-11-27-000005_vote_hot_path: the receipt index and the ballots' counters.
DROP TRIGGER votes_within_limit;
CREATE TABLE ballots (
    round_id BIGINT NOT NULL,
    voter_id BIGINT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    max_votes INTEGER NOT NULL,
    CONSTRAINT ballots_within_limit CHECK (used >= 0 AND used <= max_votes),
    PRIMARY KEY (round_id, voter_id)
) WITHOUT ROWID;
INSERT INTO ballots (round_id, voter_id, used, max_votes)
SELECT v.round_id, v.voter_id, count(*), r.votes_per_voter FROM votes AS v JOIN rounds AS r ON r.id = v.round_id
GROUP BY v.round_id, v.voter_id;
CREATE TABLE votes_old (
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
INSERT INTO votes_old (round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at)
SELECT round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at FROM votes;
DROP TABLE votes;
ALTER TABLE votes_old RENAME TO votes;
DROP TABLE ledger;
