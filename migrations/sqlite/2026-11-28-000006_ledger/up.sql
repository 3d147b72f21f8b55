-- Each vote used to write three random places in the database: its row in
-- `votes`, the receipt index (for the ledger's order) and its voter's row in
-- `ballots`. Each is a different page of the WAL at every commit, so the
-- vote writer spent most of its time writing pages. Now a vote writes one:
-- * The ledger is published once, at close, into its own table in receipt
--   order (`ledger`), instead of being indexed by receipt vote by vote while
--   the round runs. Receipts are 128 random bits; the ledger's key still
--   proves them distinct.
-- * The per-voter limit is a trigger that counts the voter's votes, which
--   sit next to each other in the primary key (the page the insert writes
--   anyway), instead of a counter row per voter. SQLite has one writer at a
--   time, so the count cannot race.
CREATE TABLE ledger (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    receipt TEXT NOT NULL,
    nomination_id BIGINT NOT NULL,
    PRIMARY KEY (round_id, receipt)
) WITHOUT ROWID;
INSERT INTO ledger (round_id, receipt, nomination_id)
SELECT v.round_id, v.receipt, v.nomination_id FROM votes AS v JOIN rounds AS r ON r.id = v.round_id
WHERE r.status = 'closed' ORDER BY v.round_id, v.receipt;

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
    FOREIGN KEY (round_id, nomination_id) REFERENCES entries (round_id, nomination_id)
) WITHOUT ROWID;
INSERT INTO votes_new (round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at)
SELECT round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at FROM votes;
DROP TABLE votes;
ALTER TABLE votes_new RENAME TO votes;

DROP TABLE ballots;
CREATE TRIGGER votes_within_limit BEFORE INSERT ON votes
WHEN (SELECT count(*) FROM votes WHERE round_id = NEW.round_id AND voter_id = NEW.voter_id)
   >= (SELECT votes_per_voter FROM rounds WHERE id = NEW.round_id)
BEGIN
    SELECT RAISE(ABORT, 'votes_within_limit: the voter has no votes left in this round');
END;
