-- Screening rounds. Configuration is editable while a round is pending and
-- frozen from the moment it opens; results are written once, when it closes.
CREATE TABLE rounds (
    id BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    sequence INTEGER NOT NULL CHECK (sequence > 0),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('review', 'vote', 'combined')),
    scope TEXT NOT NULL CHECK (scope IN ('group', 'member_company')),
    conflict_scope TEXT NOT NULL CHECK (conflict_scope IN ('branch', 'member_company')),
    reviews_per_entry INTEGER NOT NULL CHECK (reviews_per_entry >= 0),
    normalization TEXT NOT NULL CHECK (normalization IN ('none', 'zscore')),
    aggregate TEXT NOT NULL CHECK (aggregate IN ('mean', 'median', 'trimmed_mean')),
    jury_weight DOUBLE PRECISION NOT NULL CHECK (jury_weight >= 0),
    vote_weight DOUBLE PRECISION NOT NULL CHECK (vote_weight >= 0),
    votes_per_voter INTEGER NOT NULL CHECK (votes_per_voter >= 0),
    allow_vote_withdrawal BOOLEAN NOT NULL,
    opens_at TIMESTAMP,
    closes_at TIMESTAMP,
    advance_rule TEXT NOT NULL
        CHECK (advance_rule IN ('top_n', 'top_n_per_member_company', 'proportional', 'threshold')),
    advance_n INTEGER CHECK (advance_n > 0),
    advance_threshold DOUBLE PRECISION,
    status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'closed')),
    version INTEGER NOT NULL DEFAULT 1,
    algorithm_version TEXT,
    result_hash TEXT,
    allowed_missing_reviews BOOLEAN NOT NULL DEFAULT FALSE,
    opened_at TIMESTAMP,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, sequence)
);

CREATE TABLE criteria (
    id BIGSERIAL PRIMARY KEY,
    round_id BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL CHECK (weight > 0),
    max_score DOUBLE PRECISION NOT NULL CHECK (max_score > 0),
    UNIQUE (round_id, position)
);

-- Who reviews in a round. For member_company scope a reviewer scores only
-- entries of their own member company.
CREATE TABLE round_reviewers (
    round_id BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (round_id, user_id)
);

-- A nomination in a round. Company and branch are copied when the round
-- opens, so a later move of the branch cannot change a frozen round.
-- `votes` is the live counter; the result columns are written on close.
CREATE TABLE entries (
    round_id BIGINT NOT NULL REFERENCES rounds (id),
    nomination_id BIGINT NOT NULL REFERENCES nominations (id),
    member_company_id BIGINT NOT NULL,
    branch_id BIGINT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    votes BIGINT NOT NULL DEFAULT 0 CHECK (votes >= 0),
    jury_score DOUBLE PRECISION,
    jury_stddev DOUBLE PRECISION,
    reviews INTEGER,
    vote_score DOUBLE PRECISION,
    final_score DOUBLE PRECISION,
    rank INTEGER,
    advanced BOOLEAN,
    decided_by TEXT,
    -- Whether the nomination had been ruled out when the round closed.
    ruled_out BOOLEAN,
    PRIMARY KEY (round_id, nomination_id)
);
CREATE INDEX entries_round_company ON entries (round_id, member_company_id);

CREATE TABLE assignments (
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    reviewer_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, nomination_id, reviewer_id),
    FOREIGN KEY (round_id, nomination_id) REFERENCES entries (round_id, nomination_id)
);
CREATE INDEX assignments_reviewer ON assignments (round_id, reviewer_id);

-- One review per assignment; scores is a JSON object {criterion_id: score}.
CREATE TABLE reviews (
    round_id BIGINT NOT NULL,
    nomination_id BIGINT NOT NULL,
    reviewer_id BIGINT NOT NULL,
    scores TEXT NOT NULL,
    comment TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, nomination_id, reviewer_id),
    FOREIGN KEY (round_id, nomination_id, reviewer_id)
        REFERENCES assignments (round_id, nomination_id, reviewer_id)
);
CREATE INDEX reviews_reviewer ON reviews (round_id, reviewer_id);
