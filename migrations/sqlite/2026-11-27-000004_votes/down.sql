DROP TABLE vote_requests;
DROP TABLE ballots;
DROP TABLE votes;
