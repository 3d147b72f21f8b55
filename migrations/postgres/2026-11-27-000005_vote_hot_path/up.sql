-- Votes arrive thousands a second, and each foreign key below cost every
-- vote a lookup and a row lock on the account (or round) it names, for no
-- protection: accounts are never deleted (they are deactivated), every
-- voter is an authenticated account, and a round can only be deleted while
-- pending, before any vote. The key that states a rule stays: a vote names
-- an entry of its round (votes → entries).
ALTER TABLE votes DROP CONSTRAINT votes_voter_id_fkey;
ALTER TABLE ballots DROP CONSTRAINT ballots_round_id_fkey, DROP CONSTRAINT ballots_voter_id_fkey;
ALTER TABLE vote_requests DROP CONSTRAINT vote_requests_voter_id_fkey;
