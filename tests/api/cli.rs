//! The operator commands of the binary (`awards migrate`, `create-admin`,
//! `import-employees`, `verify-audit`, `backup`, `serve`), and migrations.

use crate::helpers::server::{awards_command, run, run_awards};
use crate::helpers::TestDb;
use crate::on_both_databases;

on_both_databases!(operator_commands, every_migration_reverts_cleanly);

fn operator_commands((_db, url): (TestDb, String)) {
    let url = url.as_str();
    let migrate = run_awards(&["migrate"], url);
    assert!(migrate.success(), "{}", migrate.stderr);
    // "applied N migration(s):" and one line for each.
    let applied: usize = migrate
        .stdout
        .strip_prefix("applied ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", migrate.stdout));
    assert!(applied > 0, "{}", migrate.stdout);
    assert_eq!(migrate.stdout.lines().count(), 1 + applied, "{}", migrate.stdout);
    let again = run_awards(&["migrate"], url);
    assert!(again.success(), "{}", again.stderr);
    assert_eq!(again.stdout, "applied 0 migration(s)\n");

    // Password on standard input.
    let mut create_admin = awards_command();
    create_admin
        .args(["create-admin", "--employee-no", "boss", "--name", "老板"])
        .env("AWARDS_DATABASE_URL", url);
    let out = run(&mut create_admin, "a long enough password\n");
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.starts_with("admin boss (老板) is ready, id "), "{}", out.stdout);
    let weak =
        run_awards(&["create-admin", "--employee-no", "boss2", "--name", "x", "--password", "short"], url);
    assert_eq!(weak.code, Some(2), "{}", weak.stderr);
    assert!(weak.stderr.contains("the password must be at least 10 characters long"), "{}", weak.stderr);

    // The import needs a branch: make one directly through the store.
    let mut conn = awards::db::DatabaseUrl::parse(url).unwrap().connect().unwrap();
    let company = awards::store::org::create_member_company(&mut conn, 1, "PA", "平安").unwrap();
    awards::store::org::create_branch(&mut conn, 1, "B01", "分行", company.id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "employee_no,name,branch_code\nE1,张三,B01\nE2,李四,NOPE\n").unwrap();
    let nowhere = dir.path().join("no/such/dir/codes.csv");
    let refused = run_awards(
        &["import-employees", csv.to_str().unwrap(), "--codes-out", nowhere.to_str().unwrap()],
        url,
    );
    assert_eq!(refused.code, Some(2));
    assert!(refused.stderr.contains(&format!("cannot write {}", nowhere.display())), "{}", refused.stderr);
    assert_eq!(
        awards::store::users::count(&mut conn).unwrap(),
        1,
        "nothing is imported when the codes cannot be saved"
    );
    let codes = dir.path().join("codes.csv");
    std::fs::write(&codes, "old").unwrap();
    let out =
        run_awards(&["import-employees", csv.to_str().unwrap(), "--codes-out", codes.to_str().unwrap()], url);
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.contains("created 1, updated 0, unchanged 0, rejected 1"), "{}", out.stdout);
    assert!(out.stderr.contains("line 3: unknown branch_code"), "{}", out.stderr);
    let written = std::fs::read_to_string(&codes).unwrap();
    assert!(written.starts_with("employee_no,activation_code\nE1,"), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&codes).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let verify = run_awards(&["verify-audit"], url);
    assert!(verify.success(), "{}", verify.stderr);
    assert!(verify.stdout.starts_with("audit chain ok: "), "{}", verify.stdout);
}

/// What `awards migrate` prints (exit 2, "could not check") when the
/// database cannot be reached: the backend's own reason.
#[test]
fn unreachable_databases_are_reported_with_the_real_reason() {
    // libpq's and the system's messages in English, whatever the machine's locale.
    let migrate = |url: &str| {
        run(awards_command().arg("migrate").env("AWARDS_DATABASE_URL", url).env("LC_ALL", "C"), "")
    };
    let refused = migrate("postgres://postgres@127.0.0.1:1/awards");
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with(
            "error: cannot connect to postgres://postgres@127.0.0.1:1/awards: \
             connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
        ),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("Invalid connection url for multiconnection"));
    let bad_scheme = migrate("mysql://x");
    assert_eq!(bad_scheme.code, Some(2), "{}", bad_scheme.stderr);
    assert!(
        bad_scheme
            .stderr
            .contains("unsupported database URL \"mysql://x\": use sqlite://PATH or postgres://USER@HOST/DB"),
        "{}",
        bad_scheme.stderr
    );
    let missing_dir = migrate("sqlite:///no/such/dir/awards.db");
    assert_eq!(missing_dir.code, Some(2), "{}", missing_dir.stderr);
    assert_eq!(
        missing_dir.stderr.trim_end(),
        "error: cannot connect to sqlite:///no/such/dir/awards.db: unable to open database file"
    );
}

#[test]
fn serve_refuses_to_start_without_a_jwt_secret() {
    let (_db, url) = TestDb::sqlite();
    // The launcher passes no AWARDS_JWT_SECRET on.
    let out = run_awards(&["serve", "--bind", "127.0.0.1:0"], &url);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "AWARDS_JWT_SECRET is not set: set it to a random string of 32+ bytes, or run with --dev"
        ),
        "{}",
        out.stderr
    );
    // No admin was made whose password nobody saw.
    let mut conn = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
    assert_eq!(awards::store::users::count(&mut conn).unwrap(), 0);
}

fn every_migration_reverts_cleanly((_db, url): (TestDb, String)) {
    let mut conn = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
    let applied = awards::db::migrate(&mut conn).unwrap();
    assert!(!applied.is_empty());
    awards::db::revert_all(&mut conn).unwrap();
    assert_eq!(awards::db::migrate(&mut conn).unwrap(), applied, "{url}");
}

#[test]
fn backup_copies_a_live_sqlite_database_and_overwrites_nothing() {
    let (_db, url) = TestDb::sqlite();
    let admin = run_awards(
        &["create-admin", "--employee-no", "boss", "--name", "老板", "--password", "a long enough password"],
        &url,
    );
    assert!(admin.success(), "{}", admin.stderr);
    // A reader holds the database open meanwhile, as a running service would.
    let mut live = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
    let company = awards::store::org::create_member_company(&mut live, 1, "PA", "平安").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy of awards.db");
    let out = run_awards(&["backup", copy.to_str().unwrap()], &url);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(out.stdout, format!("backup written to {}\n", copy.display()));
    let copy_url = format!("sqlite://{}", copy.display());
    let mut restored = awards::db::DatabaseUrl::parse(&copy_url).unwrap().connect().unwrap();
    assert_eq!(awards::store::users::count(&mut restored).unwrap(), 1);
    assert_eq!(awards::store::org::get_member_company(&mut restored, company.id).unwrap().name, "平安");
    let verify = run_awards(&["verify-audit"], &copy_url);
    assert!(verify.success(), "the copy's audit chain is whole: {}", verify.stdout);

    let again = run_awards(&["backup", copy.to_str().unwrap()], &url);
    assert_eq!(again.code, Some(2));
    assert!(
        again.stderr.contains("exists already; backup writes a new file and overwrites nothing"),
        "{}",
        again.stderr
    );
}

#[test]
fn backup_on_postgres_points_to_pg_dump() {
    let (_db, url) = TestDb::postgres();
    let dir = tempfile::tempdir().unwrap();
    let out = run_awards(&["backup", dir.path().join("x.dump").to_str().unwrap()], &url);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("backup copies SQLite databases; for PostgreSQL use pg_dump, e.g. pg_dump -Fc"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("x.dump").exists());
}
