DROP INDEX users_branch;
CREATE INDEX users_branch ON users (branch_id);
