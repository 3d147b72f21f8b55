CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    nomination_opens_at TIMESTAMP NOT NULL,
    nomination_closes_at TIMESTAMP NOT NULL,
    nominations_per_branch INTEGER NOT NULL CHECK (nominations_per_branch > 0),
    winners_target INTEGER NOT NULL CHECK (winners_target > 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'nominating', 'screening', 'finished', 'published')),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (nomination_closes_at > nomination_opens_at)
);

CREATE TABLE nominations (
    id INTEGER PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    branch_id BIGINT NOT NULL REFERENCES branches (id),
    nominee_id BIGINT NOT NULL REFERENCES users (id),
    nominated_by BIGINT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    story TEXT NOT NULL,
    links TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'withdrawn', 'ineligible')),
    ineligible_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    submitted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, nominee_id)
);
CREATE INDEX nominations_campaign_branch ON nominations (campaign_id, branch_id, status);
CREATE INDEX nominations_campaign_status ON nominations (campaign_id, status, id);
CREATE INDEX nominations_nominee ON nominations (nominee_id);

-- Submitted nominations per branch: the quota is enforced by a conditional
-- update of this row, so the database decides even under a race.
CREATE TABLE nomination_counts (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    branch_id BIGINT NOT NULL REFERENCES branches (id),
    submitted INTEGER NOT NULL DEFAULT 0 CHECK (submitted >= 0),
    PRIMARY KEY (campaign_id, branch_id)
);
