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

diesel::allow_tables_to_appear_in_same_query!(
    campaigns,
    nominations,
    nomination_counts,
    branches,
    member_companies,
    users,
    audit_events
);
