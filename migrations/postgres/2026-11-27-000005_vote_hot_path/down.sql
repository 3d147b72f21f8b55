ALTER TABLE vote_requests ADD CONSTRAINT vote_requests_voter_id_fkey FOREIGN KEY (voter_id) REFERENCES users (id);
ALTER TABLE ballots ADD CONSTRAINT ballots_voter_id_fkey FOREIGN KEY (voter_id) REFERENCES users (id);
ALTER TABLE ballots ADD CONSTRAINT ballots_round_id_fkey FOREIGN KEY (round_id) REFERENCES rounds (id);
ALTER TABLE votes ADD CONSTRAINT votes_voter_id_fkey FOREIGN KEY (voter_id) REFERENCES users (id);
