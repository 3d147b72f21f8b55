-- The ledger is published once, at close, into its own table in receipt
-- order, instead of every vote inserting into a receipt index while the
-- round runs (one index less on the hot path). Receipts are 128 random bits;
-- the ledger's key still proves them distinct. Unlike SQLite, PostgreSQL
-- keeps the ballots' counters: its writers (and nodes) run side by side, and
-- the counter row is what serialises one voter's racing votes.
CREATE TABLE ledger (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    receipt TEXT NOT NULL,
    nomination_id BIGINT NOT NULL,
    PRIMARY KEY (round_id, receipt)
);
INSERT INTO ledger (round_id, receipt, nomination_id)
SELECT v.round_id, v.receipt, v.nomination_id FROM votes AS v JOIN rounds AS r ON r.id = v.round_id
WHERE r.status = 'closed' ORDER BY v.round_id, v.receipt;
ALTER TABLE votes DROP CONSTRAINT votes_round_id_receipt_key;
