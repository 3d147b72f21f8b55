DROP TABLE nomination_counts;
DROP TABLE nominations;
DROP TABLE campaigns;
