//! The web console over HTTP, as a browser without scripts would use it:
//! sessions, CSRF, languages, and the rules' refusals shown on the page.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::browser::{location, Browser};
use crate::helpers::fixtures::{criteria, criterion_ids};
use crate::helpers::{TestApp, PASSWORD};
use crate::on_both;

on_both!(
    sign_in_page_speaks_chinese_first,
    sessions_are_cookies_the_api_ignores,
    forms_need_the_csrf_token_and_our_origin,
    a_manager_nominates_from_the_own_branch_only,
    a_refusal_keeps_what_was_typed,
    user_text_is_always_escaped,
    a_reviewer_scores_a_queue_with_save_and_next,
    a_password_change_ends_console_sessions,
    signing_out_ends_the_session_on_the_server,
    the_chosen_language_follows_the_person,
    a_manager_sees_the_outcomes_once_published
);

async fn sign_in_page_speaks_chinese_first(app: TestApp) {
    let mut browser = Browser::new(&app);
    let res = browser.get("/").await;
    assert_eq!((res.status, location(&res)), (StatusCode::SEE_OTHER, "/console/"));
    let res = browser.get("/console/").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/console/login?next=/console/");
    let page = browser.get("/console/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
    let html = page.text();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("登录"), "{html}");
    // Accept-Language decides when nothing was chosen; ?lang= and the cookie win.
    let english =
        app.call(Method::GET, "/console/login").header("accept-language", "en-GB,en;q=0.9").send().await;
    assert!(english.text().contains("<html lang=\"en\">"));
    let res = browser.get("/console/lang/en?next=/console/login").await;
    assert_eq!(location(&res), "/console/login");
    assert!(browser.get("/console/login").await.text().contains("Sign in"));
    // Assets come with long-lived cache headers under hashed names.
    let css = html.split("/console/assets/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let asset = browser.get(&format!("/console/assets/{css}")).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(asset.headers["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(browser.get("/console/assets/console.js").await.status, StatusCode::NOT_FOUND);
}

async fn sessions_are_cookies_the_api_ignores(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let mut browser = Browser::new(&app);
    let wrong =
        browser.post("/console/login", &[("employee_no", "M1"), ("password", "wrong password")]).await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(wrong.text().contains("工号或密码错误"), "{}", wrong.text());
    assert!(wrong.text().contains("value=\"M1\""), "the employee number stays typed");
    let res = app
        .call(Method::POST, "/console/login")
        .header("origin", &app.address)
        .body(
            "application/x-www-form-urlencoded",
            format!("employee_no=M1&password={}", PASSWORD.replace(' ', "+")),
        )
        .unchecked()
        .send()
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let cookie = res.headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    browser.keep_cookies(&res);
    assert_eq!(browser.get("/console/").await.status, StatusCode::OK);
    // The API is bearer-only: the console's cookie opens nothing there.
    let api = app.call(Method::GET, "/api/v1/me").header("cookie", &browser.cookie_header()).send().await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    // A forged cookie is no session.
    let forged =
        app.call(Method::GET, "/console/").header("cookie", "awards_console=forged").unchecked().send().await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
}

async fn forms_need_the_csrf_token_and_our_origin(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let campaign = app.open_campaign(3, 1).await;
    let nominee = app.account("E1", branch).await.to_string();
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    let form_path = format!("/console/campaigns/{campaign}/nominations/new");
    let token = browser.csrf(&form_path).await;
    let post = format!("/console/campaigns/{campaign}/nominations");
    let fields = |csrf: &'static str| {
        vec![("csrf", csrf), ("title", "标题"), ("summary", "摘要"), ("story", "事迹"), ("action", "save")]
    };
    for forged in ["", "0000", "forged-token"] {
        let mut form = fields(forged);
        form.push(("nominee_id", &nominee));
        let res = browser.post(&post, &form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{forged:?}");
    }
    // The right token from another origin: refused too.
    let body = serde_urlencoded::to_string([
        ("csrf", token.as_str()),
        ("nominee_id", &nominee),
        ("title", "t"),
        ("summary", "s"),
        ("story", "x"),
    ])
    .unwrap();
    let cross = app
        .call(Method::POST, &post)
        .header("cookie", &browser.cookie_header())
        .header("origin", "http://evil.example")
        .body("application/x-www-form-urlencoded", body)
        .unchecked()
        .send()
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let listed = app.get(format!("/api/v1/campaigns/{campaign}/nominations"), app.admin()).await.ok();
    assert_eq!(listed.body["total"], 0, "nothing was written");
}

async fn a_manager_nominates_from_the_own_branch_only(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    let (_, other) = app.org("MC", "B2").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let campaign = app.open_campaign(1, 1).await;
    let ours = app.account("E1", branch).await;
    let second = app.account("E2", branch).await;
    let theirs = app.account("X1", other).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    let home = browser.get("/console/").await.text();
    assert!(home.contains(&format!("/console/campaigns/{campaign}")), "{home}");
    let overview = browser.get(&format!("/console/campaigns/{campaign}")).await.text();
    assert!(overview.contains("已提交 0 个，共 1 个，剩余 1 个"), "{overview}");
    assert!(overview.contains("北京时间"));
    // Search as you type finds the own branch's staff by name or number, no one else.
    let found = browser.get(&format!("/console/campaigns/{campaign}/staff?q=E")).await.text();
    assert!(found.contains(&format!("data-pick-id=\"{ours}\"")) && !found.contains("X1"), "{found}");
    let found =
        browser.get(&format!("/console/campaigns/{campaign}/staff?q=%E5%91%98%E5%B7%A5X1")).await.text();
    assert!(!found.contains("data-pick-id"), "{found}");
    let token = browser.csrf(&format!("/console/campaigns/{campaign}/nominations/new")).await;
    let post = format!("/console/campaigns/{campaign}/nominations");
    // Another branch's employee (an edited form): refused on the nominee field, nothing written.
    let theirs = theirs.to_string();
    let form = [
        ("csrf", token.as_str()),
        ("nominee_id", &theirs),
        ("title", "别人的员工"),
        ("summary", "摘要"),
        ("story", "事迹"),
        ("action", "save"),
    ];
    let refused = browser.post(&post, &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("只能推荐本机构的员工"), "{}", refused.text());
    assert_eq!(
        app.get(format!("/api/v1/campaigns/{campaign}/nominations"), app.admin()).await.body["total"],
        0
    );
    // The own employee, saved and submitted at once.
    let ours = ours.to_string();
    let form = [
        ("csrf", token.as_str()),
        ("nominee_id", &ours),
        ("title", "耐心的柜员"),
        ("summary", "帮老人识破诈骗"),
        ("story", "第一段\r\n第二段"),
        ("action", "submit"),
    ];
    let created = browser.post(&post, &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let page = browser.get(location(&created)).await.text();
    assert!(page.contains("已提交") && page.contains("耐心的柜员"), "{page}");
    // The quota is full: the second is saved as a draft and the page says why it was not submitted.
    let second = second.to_string();
    let form = [
        ("csrf", token.as_str()),
        ("nominee_id", &second),
        ("title", "第二位"),
        ("summary", "摘要"),
        ("story", "事迹"),
        ("action", "submit"),
    ];
    let full = browser.post(&post, &form).await;
    assert_eq!(full.status, StatusCode::CONFLICT);
    assert!(
        full.text().contains("草稿已保存，但未能提交") && full.text().contains("名额已用完"),
        "{}",
        full.text()
    );
    let listed = app.get(format!("/api/v1/campaigns/{campaign}/nominations"), app.admin()).await.ok();
    assert_eq!(listed.strs("status"), ["submitted", "draft"]);
    // Withdrawing frees the place; the draft can then be submitted.
    let first = listed.items()[0]["id"].as_i64().unwrap();
    let res = browser
        .post(&format!("/console/nominations/{first}"), &[("csrf", &token), ("action", "withdraw")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let overview = browser.get(&format!("/console/campaigns/{campaign}")).await.text();
    assert!(overview.contains("剩余 1 个") && overview.contains("已撤回"), "{overview}");
}

async fn a_refusal_keeps_what_was_typed(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let campaign = app.open_campaign(2, 1).await;
    let nominee = app.account("E1", branch).await.to_string();
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    let token = browser.csrf(&format!("/console/campaigns/{campaign}/nominations/new")).await;
    let story = "很长的事迹".repeat(1001);
    let form = [
        ("csrf", token.as_str()),
        ("nominee_id", &nominee),
        ("nominee_label", "用户E1（E1）"),
        ("title", "  "),
        ("summary", "摘要"),
        ("story", &story),
        ("action", "save"),
    ];
    let res = browser.post(&format!("/console/campaigns/{campaign}/nominations"), &form).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text();
    assert!(html.contains("此项必填") && html.contains("不能超过 5000 个字"), "{html}");
    assert!(html.contains(&story) && html.contains("用户E1（E1）"), "nothing typed is lost");
    assert!(html.contains("id=\"title\"") && html.contains("aria-invalid=\"true\""));
}

async fn user_text_is_always_escaped(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let campaign = app.open_campaign(2, 1).await;
    let nominee = app.account("E1", branch).await;
    let manager_token = app.login("M1", PASSWORD).await;
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>{{ 7*7 }}";
    let body = json!({"nominee_id": nominee, "title": "标题<b>", "summary": hostile, "story": hostile});
    let id = app.create_nomination(&manager_token, campaign, body).await.created().id();
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    for path in [format!("/console/nominations/{id}"), format!("/console/campaigns/{campaign}")] {
        let html = browser.get(&path).await.text();
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x") && !html.contains("<b>"),
            "{html}"
        );
    }
    let html = browser.get(&format!("/console/nominations/{id}")).await.text();
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"), "{html}");
}

async fn a_reviewer_scores_a_queue_with_save_and_next(app: TestApp) {
    let f = crate::helpers::fixtures::field(&app, 1, 1).await;
    let reviewer = &f.group_reviewers[0];
    let round = app
        .create_round(f.campaign, json!({"name": "集团初评", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 1}}))
        .await;
    let round_id = round["id"].as_i64().unwrap();
    app.patch_campaign(f.campaign, json!({"status": "screening"})).await.ok();
    crate::helpers::fixtures::open_with_panel(&app, round_id, &[reviewer.id], Some(7)).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("GROUP-R0").await;
    let home = browser.get("/console/").await.text();
    assert!(home.contains("已评 0 / 6"), "{home}");
    let queue = browser.get(&format!("/console/rounds/{round_id}")).await.text();
    assert!(queue.contains("已评 0 / 6"), "{queue}");
    let entries = f.entries();
    let first = entries[0];
    let page = browser.get(&format!("/console/rounds/{round_id}/entries/{first}")).await.text();
    for name in ["事迹真实性", "客户影响", "示范意义", "满分 10", "保存并下一位"] {
        assert!(page.contains(name), "{name}: {page}");
    }
    let token = browser.csrf(&format!("/console/rounds/{round_id}/entries/{first}")).await;
    let ids = criterion_ids(&round);
    let field = |id: i64| format!("score-{id}");
    let (a, b, c) = (field(ids[0].0), field(ids[1].0), field(ids[2].0));
    let post = format!("/console/rounds/{round_id}/entries/{first}");
    // Out of range: the criterion's field says so, nothing saved.
    let res =
        browser.post(&post, &[("csrf", &token), (&a, "11"), (&b, "5"), (&c, "3"), ("action", "next")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("分数须在 0 到 10 之间"), "{}", res.text());
    let res = browser
        .post(
            &post,
            &[("csrf", &token), (&a, "9"), (&b, "7.5"), (&c, "4"), ("comment", "属实"), ("action", "next")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(location(&res), format!("/console/rounds/{round_id}/entries/{}?after={first}", entries[1]));
    let mine = app.my_assignments(round_id, &reviewer.token).await.ok();
    assert_eq!(mine.body["done"], 1);
    // Twenty saves of the same entry at once: one review, revised, none doubled or lost.
    let second = entries[1];
    let post = format!("/console/rounds/{round_id}/entries/{second}");
    let saves = (0..20).map(|i| {
        let score = (i % 10).to_string();
        let form = [
            ("csrf", token.as_str()),
            (a.as_str(), score.as_str()),
            (b.as_str(), "1"),
            (c.as_str(), "1"),
            ("action", "next"),
        ];
        let body = serde_urlencoded::to_string(form).unwrap();
        let (app, post, cookies) = (&app, post.clone(), browser.cookie_header());
        async move {
            app.call(Method::POST, &post)
                .header("cookie", &cookies)
                .header("origin", &app.address)
                .body("application/x-www-form-urlencoded", body)
                .unchecked()
                .send()
                .await
        }
    });
    for res in futures_util::future::join_all(saves).await {
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    }
    let mine = app.my_assignments(round_id, &reviewer.token).await.ok();
    assert_eq!(mine.body["done"], 2);
    // After close, the scores are locked on the page.
    for entry in &entries[2..] {
        let scores =
            json!({"scores": {ids[0].0.to_string(): 5, ids[1].0.to_string(): 5, ids[2].0.to_string(): 3}});
        app.review(round_id, *entry, &reviewer.token, scores).await.ok();
    }
    app.close_round(round_id).await.ok();
    let page = browser.get(&format!("/console/rounds/{round_id}/entries/{first}")).await.text();
    assert!(page.contains("本轮已结束，评分已锁定") && !page.contains("保存并下一位"), "{page}");
    let res = browser
        .post(
            &format!("/console/rounds/{round_id}/entries/{first}"),
            &[("csrf", &token), (&a, "1"), (&b, "1"), (&c, "1"), ("action", "save")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
}

async fn a_password_change_ends_console_sessions(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    let (_, token) = app.user("M1", Some(branch), &["manager"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    assert_eq!(browser.get("/console/").await.status, StatusCode::OK);
    app.change_password(&token, PASSWORD, "another long password").await.ok();
    let res = browser.get("/console/campaigns/1").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/console/login?next=/console/campaigns/1");
}

/// A cookie copied before signing out is worth nothing after it; signing in
/// again starts a session that works.
async fn signing_out_ends_the_session_on_the_server(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    let mut copy = browser.copy();
    assert_eq!(copy.get("/console/").await.status, StatusCode::OK);
    let token = browser.csrf("/console/").await;
    let res = browser.post("/console/logout", &[("csrf", &token)]).await;
    assert_eq!((res.status, location(&res)), (StatusCode::SEE_OTHER, "/console/login"));
    let res = copy.get("/console/").await;
    assert_eq!((res.status, location(&res)), (StatusCode::SEE_OTHER, "/console/login?next=/console/"));
    browser.sign_in("M1").await;
    assert_eq!(browser.get("/console/").await.status, StatusCode::OK);
}

async fn the_chosen_language_follows_the_person(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    app.user("M1", Some(branch), &["manager"]).await;
    let mut laptop = Browser::new(&app);
    laptop.sign_in("M1").await;
    assert!(laptop.get("/console/").await.text().contains("<html lang=\"zh-CN\">"));
    laptop.get("/console/lang/en?next=/console/").await;
    assert!(laptop.get("/console/").await.text().contains("Hello, "));
    // Another browser, nothing chosen there: signing in brings the choice along.
    let mut phone = Browser::new(&app);
    phone.sign_in("M1").await;
    let home = phone.get("/console/").await.text();
    assert!(home.contains("<html lang=\"en\">"), "{home}");
}

/// The `<tr>` of the page's table that holds this text.
fn row_with<'a>(html: &'a str, text: &str) -> &'a str {
    let at = html.find(text).unwrap_or_else(|| panic!("{text} on the page: {html}"));
    let start = html[..at].rfind("<tr").expect("a row");
    let end = at + html[at..].find("</tr>").expect("the row's end");
    &html[start..end]
}

/// The manager's campaign page shows each own nomination's outcome in every
/// closed round, from the frozen results, by the rule of the results API:
/// only once the campaign is published. Before that a line says when.
async fn a_manager_sees_the_outcomes_once_published(app: TestApp) {
    let (_, branch) = app.org("MC", "B1").await;
    let (_, other) = app.org("MC", "B2").await;
    let (_, manager_token) = app.user("M1", Some(branch), &["manager"]).await;
    let campaign = app.open_campaign(3, 1).await;
    let winner = app.nominate(campaign, app.account("E1", branch).await, "终选胜出的故事").await;
    app.nominate(campaign, app.account("E2", branch).await, "初选止步的故事").await;
    let ruled_out = app.nominate(campaign, app.account("E3", branch).await, "中途取消的故事").await;
    let theirs = app.nominate(campaign, app.account("X1", other).await, "别家分行的故事").await;
    let vote = |name: &str, n: i64| json!({"name": name, "kind": "vote", "votes_per_voter": 2, "advance": {"rule": "top_n", "n": n}});
    let first = app.create_round(campaign, vote("初选投票", 2)).await["id"].as_i64().unwrap();
    let last = app.create_round(campaign, vote("终选投票", 1)).await["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in("M1").await;
    let path = format!("/console/campaigns/{campaign}");
    let words = ["晋级", "取消资格", "获奖", "class=\"outcomes\""];
    let shows_none = |html: &str| words.iter().all(|w| !html.contains(w));
    let later = "各轮评审结果将在评选结果公布后在此显示。";
    let html = browser.get(&path).await.text();
    assert!(shows_none(&html) && !html.contains(later), "nominating: nothing to announce yet: {html}");

    // 初选投票: the winner and the other branch's entry advance, E2 does not, E3 is ruled out.
    app.to_screening(campaign).await;
    app.open_round(first).await.ok();
    for entry in [winner, theirs] {
        app.cast_vote(first, app.admin(), entry, None).await.created();
    }
    app.rule_out(ruled_out, "材料不实").await.ok();
    app.close_round(first).await.ok();
    let html = browser.get(&path).await.text();
    assert!(shows_none(&html) && html.contains(later), "screening: {html}");
    // 终选投票, the last round: one winner.
    app.open_round(last).await.ok();
    app.cast_vote(last, app.admin(), winner, None).await.created();
    app.close_round(last).await.ok();
    app.move_campaign(campaign, "finished").await.ok();
    let html = browser.get(&path).await.text();
    assert!(shows_none(&html) && html.contains(later), "finished, not published: {html}");
    let api = app.get(format!("/api/v1/rounds/{first}/results"), &manager_token).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "the API holds them back by the same rule");

    app.move_campaign(campaign, "published").await.ok();
    app.get(format!("/api/v1/rounds/{first}/results"), &manager_token).await.ok();
    let html = browser.get(&path).await.text();
    assert!(!html.contains(later), "{html}");
    let row = row_with(&html, "终选胜出的故事");
    assert!(row.contains("初选投票 <span class=\"status advanced\">晋级</span>"), "{row}");
    assert!(row.contains("终选投票 <span class=\"status won\">获奖（第 1 名）</span>"), "{row}");
    let row = row_with(&html, "初选止步的故事");
    assert!(row.contains("初选投票 <span class=\"status not-advanced\">未晋级</span>"), "{row}");
    assert!(!row.contains("终选投票"), "it was not in the last round: {row}");
    let row = row_with(&html, "中途取消的故事");
    assert!(row.contains("初选投票 <span class=\"status out\">已取消资格</span>"), "{row}");
    // Only the own branch's: the other branch's entry (advanced, then not) is not there.
    assert!(!html.contains("别家分行的故事"), "{html}");
    assert_eq!(html.matches("<li>").count(), 4, "two rounds of the winner, one of each other: {html}");
    // And in English.
    browser.get(&format!("/console/lang/en?next={path}")).await;
    let html = browser.get(&path).await.text();
    let row = row_with(&html, "终选胜出的故事");
    assert!(row.contains(">Advanced<") && row.contains(">Won (rank 1)<"), "{row}");
    assert!(row_with(&html, "初选止步的故事").contains(">Did not advance<"), "{html}");
    assert!(row_with(&html, "中途取消的故事").contains(">Ruled out<"), "{html}");
}
