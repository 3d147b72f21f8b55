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

diesel::allow_tables_to_appear_in_same_query!(member_companies, branches, users, audit_events);
