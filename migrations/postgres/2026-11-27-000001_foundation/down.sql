DROP TABLE audit_events;
DROP TABLE users;
DROP TABLE branches;
DROP TABLE member_companies;
