ALTER TABLE votes ADD CONSTRAINT votes_round_id_receipt_key UNIQUE (round_id, receipt);
DROP TABLE ledger;
