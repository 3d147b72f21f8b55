DROP TABLE reviews;
DROP TABLE assignments;
DROP TABLE entries;
DROP TABLE round_reviewers;
DROP TABLE criteria;
DROP TABLE rounds;
