//! A browser of the web console, as far as the tests need one: its cookie
//! jar, our origin on every form, signing in, and a page's CSRF token.

use reqwest::{Method, StatusCode};

use super::{Response, TestApp, PASSWORD};

/// A browser: its cookie jar (one cookie is enough here) and our origin.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser { app, cookies: vec![] }
    }

    /// Another browser holding a copy of this one's cookies (a stolen cookie).
    pub fn copy(&self) -> Self {
        Browser { app: self.app, cookies: self.cookies.clone() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn keep_cookies(&mut self, res: &Response) {
        for value in res.headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let res =
            self.app.call(Method::GET, path).header("cookie", &self.cookie_header()).unchecked().send().await;
        self.keep_cookies(&res);
        res
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let body = serde_urlencoded::to_string(form).unwrap();
        let res = self
            .app
            .call(Method::POST, path)
            .header("cookie", &self.cookie_header())
            .header("origin", &self.app.address)
            .body("application/x-www-form-urlencoded", body)
            .unchecked()
            .send()
            .await;
        self.keep_cookies(&res);
        res
    }

    /// Signs in through the sign-in page with the tests' password.
    pub async fn sign_in(&mut self, employee_no: &str) {
        self.sign_in_with(employee_no, PASSWORD).await
    }

    pub async fn sign_in_with(&mut self, employee_no: &str, password: &str) {
        let res = self
            .post(
                "/console/login",
                &[("employee_no", employee_no), ("password", password), ("next", "/console/")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(res.headers["location"], "/console/");
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await.text();
        let at =
            page.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no csrf field on {path}: {page}"));
        let rest = &page[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

/// Where a redirect leads.
pub fn location(res: &Response) -> &str {
    res.headers["location"].to_str().unwrap()
}
