use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::TestDb;

fn awards(args: &[&str], url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_awards"))
        .args(args)
        .env("AWARDS_DATABASE_URL", url)
        .env("AWARDS_ARGON2_MEMORY_KIB", "1024")
        .env("AWARDS_ARGON2_ITERATIONS", "1")
        .output()
        .expect("run awards")
}

fn operator_commands(url: &str) {
    let migrate = awards(&["migrate"], url);
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let applied = String::from_utf8_lossy(&migrate.stdout).into_owned();
    assert!(applied.starts_with("applied ") && !applied.starts_with("applied 0"), "{applied}");
    let again = awards(&["migrate"], url);
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration"));

    // Password on standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_awards"))
        .args(["create-admin", "--employee-no", "boss", "--name", "老板"])
        .env("AWARDS_DATABASE_URL", url)
        .env("AWARDS_ARGON2_MEMORY_KIB", "1024")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let weak = awards(&["create-admin", "--employee-no", "boss2", "--name", "x", "--password", "short"], url);
    assert!(!weak.status.success());

    // The import needs a branch: make one directly through the store.
    let mut conn = awards::db::DatabaseUrl::parse(url).unwrap().connect().unwrap();
    let company = awards::store::org::create_member_company(&mut conn, 1, "PA", "平安").unwrap();
    awards::store::org::create_branch(&mut conn, 1, "B01", "分行", company.id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "employee_no,name,branch_code\nE1,张三,B01\nE2,李四,NOPE\n").unwrap();
    let nowhere = dir.path().join("no/such/dir/codes.csv");
    let refused =
        awards(&["import-employees", csv.to_str().unwrap(), "--codes-out", nowhere.to_str().unwrap()], url);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        awards::store::users::count(&mut conn).unwrap(),
        1,
        "nothing is imported when the codes cannot be saved"
    );
    let codes = dir.path().join("codes.csv");
    std::fs::write(&codes, "old").unwrap();
    let out =
        awards(&["import-employees", csv.to_str().unwrap(), "--codes-out", codes.to_str().unwrap()], url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created 1, updated 0, unchanged 0, rejected 1"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: unknown branch_code"));
    let written = std::fs::read_to_string(&codes).unwrap();
    assert!(written.starts_with("employee_no,activation_code\nE1,"), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&codes).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let verify = awards(&["verify-audit"], url);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("audit chain ok"));
}

#[test]
fn operator_commands_on_sqlite() {
    let (_db, url) = TestDb::sqlite();
    operator_commands(&url);
}

#[test]
fn operator_commands_on_postgres() {
    if let Some((_db, url)) = TestDb::postgres() {
        operator_commands(&url);
    }
}

#[test]
fn unreachable_databases_are_reported_with_the_real_reason() {
    let refused = awards(&["migrate"], "postgres://postgres@127.0.0.1:1/awards");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("Connection refused") || stderr.contains("connection"), "{stderr}");
    assert!(!stderr.contains("Invalid connection url for multiconnection"));
    let bad_scheme = awards(&["migrate"], "mysql://x");
    assert!(String::from_utf8_lossy(&bad_scheme.stderr).contains("unsupported database URL"));
    let missing_dir = awards(&["migrate"], "sqlite:///no/such/dir/awards.db");
    assert!(!missing_dir.status.success());
    assert!(
        String::from_utf8_lossy(&missing_dir.stderr).contains("unable to open"),
        "{}",
        String::from_utf8_lossy(&missing_dir.stderr)
    );
}

#[test]
fn serve_refuses_to_start_without_a_jwt_secret() {
    let (_db, url) = TestDb::sqlite();
    let out = Command::new(env!("CARGO_BIN_EXE_awards"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("AWARDS_DATABASE_URL", &url)
        .env_remove("AWARDS_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWARDS_JWT_SECRET"));
    // No admin was made whose password nobody saw.
    let mut conn = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
    assert_eq!(awards::store::users::count(&mut conn).unwrap(), 0);
}

#[test]
fn every_migration_reverts_cleanly() {
    let (_sqlite, sqlite_url) = TestDb::sqlite();
    let pg = TestDb::postgres();
    let mut urls = vec![sqlite_url];
    urls.extend(pg.as_ref().map(|(_, url)| url.clone()));
    for url in urls {
        let mut conn = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
        let applied = awards::db::migrate(&mut conn).unwrap();
        assert!(!applied.is_empty());
        awards::db::revert_all(&mut conn).unwrap();
        assert_eq!(awards::db::migrate(&mut conn).unwrap(), applied, "{url}");
    }
}

#[test]
fn backup_copies_a_live_sqlite_database_and_overwrites_nothing() {
    let (_db, url) = TestDb::sqlite();
    let admin = awards(
        &["create-admin", "--employee-no", "boss", "--name", "老板", "--password", "a long enough password"],
        &url,
    );
    assert!(admin.status.success(), "{}", String::from_utf8_lossy(&admin.stderr));
    // A reader holds the database open meanwhile, as a running service would.
    let mut live = awards::db::DatabaseUrl::parse(&url).unwrap().connect().unwrap();
    let company = awards::store::org::create_member_company(&mut live, 1, "PA", "平安").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy of awards.db");
    let out = awards(&["backup", copy.to_str().unwrap()], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copy_url = format!("sqlite://{}", copy.display());
    let mut restored = awards::db::DatabaseUrl::parse(&copy_url).unwrap().connect().unwrap();
    assert_eq!(awards::store::users::count(&mut restored).unwrap(), 1);
    assert_eq!(awards::store::org::get_member_company(&mut restored, company.id).unwrap().name, "平安");
    let verify = awards(&["verify-audit"], &copy_url);
    assert!(verify.status.success(), "the copy's audit chain is whole");

    let again = awards(&["backup", copy.to_str().unwrap()], &url);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn backup_on_postgres_points_to_pg_dump() {
    let Some((_db, url)) = TestDb::postgres() else {
        eprintln!("AWARDS_TEST_POSTGRES_URL is not set: PostgreSQL half skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = awards(&["backup", dir.path().join("x.dump").to_str().unwrap()], &url);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!dir.path().join("x.dump").exists());
}
