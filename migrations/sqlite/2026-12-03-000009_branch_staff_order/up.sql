-- A branch's staff in employee-number order: the nominee picker filters by
-- branch and reads the first matches in that order, without scanning the
-- whole roster by employee number.
DROP INDEX users_branch;
CREATE INDEX users_branch ON users (branch_id, employee_no);
