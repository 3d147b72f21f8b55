use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both;

on_both!(
    import_reports_bad_rows_and_keeps_good_ones,
    reimport_updates_instead_of_duplicating,
    unusable_files_are_refused_whole,
    parallel_imports_of_one_file_create_each_account_once,
);

async fn import_reports_bad_rows_and_keeps_good_ones(app: TestApp) {
    app.org("PA", "B01").await;
    let mut csv = "employee_no,name,branch_code,roles\n\
        E1,张三,B01,manager\n\
        E2,李四,B01,\n\
        E3,王五,NOPE,\n\
        E1,张三again,B01,\n\
        ,无号,B01,\n\
        E4,坏角色,B01,king\n\
        E5,少列\n"
        .as_bytes()
        .to_vec();
    csv.extend_from_slice(b"E6,\xff\xfe\xfd,B01,\n");
    csv.extend_from_slice("E7,好人,B01,reviewer;manager\n".as_bytes());
    let res = app.import_csv(app.admin(), csv).await.ok();
    assert_eq!(res.body["created"], 3);
    let lines: Vec<i64> =
        res.body["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8, 9]);
    let messages = res.body["rejected"].to_string();
    for expected in
        ["unknown branch_code", "more than once", "employee_no is empty", "king", "fields", "UTF-8"]
    {
        assert!(messages.contains(expected), "{expected} in {messages}");
    }
    let codes = res.body["activation_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 3);
    // The codes work, once.
    let code = codes.iter().find(|c| c["employee_no"] == "E7").unwrap()["code"].as_str().unwrap();
    let activated = app.activate("E7", code, "my own password").await;
    assert_eq!(activated.body["user"]["roles"], json!(["manager", "reviewer", "employee"]));
    // Nothing of a rejected row was written.
    let users = app.get("/api/v1/users?per_page=500", app.admin()).await;
    let numbers: Vec<&str> = users.strs("employee_no").into_iter().collect();
    assert_eq!(numbers, vec!["admin", "E1", "E2", "E7"]);
}

async fn reimport_updates_instead_of_duplicating(app: TestApp) {
    app.org("PA", "B01").await;
    app.org("PA", "B02").await;
    let first =
        app.import_csv(app.admin(), "employee_no,name,branch_code\nE1,张三,B01\nE2,李四,B01\n").await.ok();
    assert_eq!(first.body["created"], 2);
    let second = app
        .import_csv(app.admin(), "employee_no,name,branch_code\nE1,张三丰,B02\nE2,李四,B01\nE3,新人,B02\n")
        .await;
    assert_eq!(
        (second.body["created"].as_i64(), second.body["updated"].as_i64(), second.body["unchanged"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    let codes = second.body["activation_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 1, "codes only for accounts created by this import");
    assert_eq!(codes[0]["employee_no"], "E3");
    let users = app.get("/api/v1/users?q=E1", app.admin()).await;
    assert_eq!(users.body["total"], 1);
    assert_eq!(users.body["items"][0]["name"], "张三丰");
    // An import cannot touch the importing admin's own account.
    let own =
        app.import_csv(app.admin(), "employee_no,name,branch_code,roles\nadmin,Admin,B01,employee\n").await;
    assert_eq!(own.body["rejected"][0]["line"], 2);
    assert!(own.body["rejected"][0]["message"].as_str().unwrap().contains("your own account"));
    assert_eq!(app.get("/api/v1/me", app.admin()).await.body["roles"], json!(["admin", "employee"]));
}

async fn unusable_files_are_refused_whole(app: TestApp) {
    app.org("PA", "B01").await;
    let missing = app.import_csv(app.admin(), "employee_no,name\nE1,x\n").await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body["detail"].as_str().unwrap().contains("branch_code"));
    let empty = app.import_csv(app.admin(), "").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    // 10 MB of junk: a report, not a crash, and nothing written.
    let junk: Vec<u8> =
        (0..10 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let res = app.import_csv(app.admin(), junk).await;
    assert_eq!(
        (res.status, res.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("header")),
        "{}",
        res.body
    );
    // Junk under a valid header: every row rejected with its line.
    let mut text = b"employee_no,name,branch_code\n".to_vec();
    for i in 0..2000u32 {
        text.extend_from_slice(format!("{},\x01\x02,{}\n", i, "\u{fffd}").as_bytes());
    }
    let rows = app.import_csv(app.admin(), text).await.ok();
    assert_eq!(rows.body["created"], 0);
    assert_eq!(rows.body["rejected"].as_array().unwrap().len(), 2000);
    let wrong_type =
        app.raw(Method::POST, "/api/v1/imports/employees", Some(app.admin()), "application/json", "{}").await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.get("/api/v1/users", app.admin()).await.body["total"], 1);
}

async fn parallel_imports_of_one_file_create_each_account_once(app: TestApp) {
    app.org("PA", "B01").await;
    let mut csv = String::from("employee_no,name,branch_code\n");
    for i in 0..1500 {
        csv.push_str(&format!("P{i:05},员工{i},B01\n"));
    }
    let imports = (0..4).map(|_| app.import_csv(app.admin(), csv.clone()));
    let reports = futures_util::future::join_all(imports).await;
    let created: i64 = reports.iter().map(|r| r.body["created"].as_i64().unwrap()).sum();
    assert_eq!(created, 1500, "each account is created by exactly one import");
    assert!(reports.iter().all(|r| r.status == StatusCode::OK));
    assert_eq!(app.get("/api/v1/users?q=P0", app.admin()).await.body["total"], 1500);
    assert_eq!(app.verify_audit().await["ok"], true);
}
