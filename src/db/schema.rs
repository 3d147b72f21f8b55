// Written by hand with types that mean the same on SQLite and PostgreSQL.

diesel::table! {
    member_companies (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    branches (id) {
        id -> BigInt,
        member_company_id -> BigInt,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        employee_no -> Text,
        name -> Text,
        branch_id -> Nullable<BigInt>,
        roles -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        activation_code_hash -> Nullable<Text>,
        token_version -> Integer,
        failed_logins -> Integer,
        failed_window_started_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        lang -> Nullable<Text>,
        console_signed_out_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        subject -> Text,
        details -> Text,
        created_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(branches -> member_companies (member_company_id));
diesel::joinable!(users -> branches (branch_id));
diesel::joinable!(audit_events -> users (actor_id));

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        name -> Text,
        nomination_opens_at -> Timestamp,
        nomination_closes_at -> Timestamp,
        nominations_per_branch -> Integer,
        winners_target -> Integer,
        status -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    nominations (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        branch_id -> BigInt,
        nominee_id -> BigInt,
        nominated_by -> BigInt,
        title -> Text,
        summary -> Text,
        story -> Text,
        links -> Text,
        status -> Text,
        ineligible_reason -> Nullable<Text>,
        version -> Integer,
        submitted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    nomination_counts (campaign_id, branch_id) {
        campaign_id -> BigInt,
        branch_id -> BigInt,
        submitted -> Integer,
    }
}

diesel::joinable!(nominations -> campaigns (campaign_id));
diesel::joinable!(nominations -> branches (branch_id));
diesel::joinable!(nomination_counts -> campaigns (campaign_id));
diesel::joinable!(nomination_counts -> branches (branch_id));

diesel::table! {
    rounds (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        sequence -> Integer,
        name -> Text,
        kind -> Text,
        scope -> Text,
        conflict_scope -> Text,
        reviews_per_entry -> Integer,
        normalization -> Text,
        aggregate -> Text,
        jury_weight -> Double,
        vote_weight -> Double,
        votes_per_voter -> Integer,
        allow_vote_withdrawal -> Bool,
        opens_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        advance_rule -> Text,
        advance_n -> Nullable<Integer>,
        advance_threshold -> Nullable<Double>,
        status -> Text,
        version -> Integer,
        algorithm_version -> Nullable<Text>,
        result_hash -> Nullable<Text>,
        allowed_missing_reviews -> Bool,
        opened_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    criteria (id) {
        id -> BigInt,
        round_id -> BigInt,
        position -> Integer,
        name -> Text,
        weight -> Double,
        max_score -> Double,
    }
}

diesel::table! {
    round_reviewers (round_id, user_id) {
        round_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    entries (round_id, nomination_id) {
        round_id -> BigInt,
        nomination_id -> BigInt,
        member_company_id -> BigInt,
        branch_id -> BigInt,
        submitted_at -> Timestamp,
        votes -> BigInt,
        jury_score -> Nullable<Double>,
        jury_stddev -> Nullable<Double>,
        reviews -> Nullable<Integer>,
        vote_score -> Nullable<Double>,
        final_score -> Nullable<Double>,
        rank -> Nullable<Integer>,
        advanced -> Nullable<Bool>,
        decided_by -> Nullable<Text>,
        ruled_out -> Nullable<Bool>,
    }
}

diesel::table! {
    assignments (round_id, nomination_id, reviewer_id) {
        round_id -> BigInt,
        nomination_id -> BigInt,
        reviewer_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reviews (round_id, nomination_id, reviewer_id) {
        round_id -> BigInt,
        nomination_id -> BigInt,
        reviewer_id -> BigInt,
        scores -> Text,
        comment -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    votes (round_id, voter_id, nomination_id) {
        round_id -> BigInt,
        nomination_id -> BigInt,
        voter_id -> BigInt,
        receipt -> Text,
        voter_branch_id -> Nullable<BigInt>,
        ip -> Text,
        minute -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A closed round's published ledger, written once at close.
    ledger (round_id, receipt) {
        round_id -> BigInt,
        receipt -> Text,
        nomination_id -> BigInt,
    }
}

diesel::table! {
    /// PostgreSQL only: SQLite counts a voter's votes in a trigger instead.
    ballots (round_id, voter_id) {
        round_id -> BigInt,
        voter_id -> BigInt,
        used -> Integer,
        max_votes -> Integer,
    }
}

diesel::table! {
    vote_requests (voter_id, idempotency_key) {
        voter_id -> BigInt,
        idempotency_key -> Text,
        round_id -> BigInt,
        nomination_id -> BigInt,
        receipt -> Text,
        withdrawn -> Bool,
        created_at -> Timestamp,
    }
}

diesel::joinable!(rounds -> campaigns (campaign_id));
diesel::joinable!(criteria -> rounds (round_id));
diesel::joinable!(round_reviewers -> rounds (round_id));
diesel::joinable!(round_reviewers -> users (user_id));
diesel::joinable!(entries -> rounds (round_id));
diesel::joinable!(entries -> nominations (nomination_id));
diesel::joinable!(assignments -> users (reviewer_id));
diesel::joinable!(assignments -> nominations (nomination_id));
diesel::joinable!(reviews -> nominations (nomination_id));

diesel::allow_tables_to_appear_in_same_query!(
    campaigns,
    nominations,
    nomination_counts,
    branches,
    member_companies,
    users,
    audit_events,
    rounds,
    criteria,
    round_reviewers,
    entries,
    assignments,
    reviews,
    votes,
    ballots,
    ledger,
    vote_requests
);
