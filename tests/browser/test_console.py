"""The web console in a real browser (headless Chromium), as people use it.

Started by `tests/browser/run`, once per backend:

    test_console.py --binary target/debug/awards --axe axe.min.js \
        --backend sqlite|postgres [--postgres-url URL] [--screenshots DIR] [--keep]

It starts `awards serve` on a fresh database (a PostgreSQL one is created
and dropped again), sets up a small award over the JSON API, and then:

- a branch manager activates the account, signs out and in through the page,
  opens the campaign (Beijing time, quota), nominates by searching a name
  (htmx), watching the character counters, and submits;
- a second nomination is refused (quota full) and keeps what was typed;
- a draft typed into a new nomination survives closing the tab;
- a group reviewer opens the round's queue, scores the first entry with
  save-and-next, types into the next one, "closes the browser" (quits it and
  starts again on the same profile) and finds the typed score restored;
- the reviews are finished over the API, the round is closed, and the
  reviewer's entry pages show the scores locked; the manager's campaign page
  still loads and says outcomes come with publication;
- the campaign is finished and published over the API, and the manager's
  campaign page shows each own nomination's outcome in the round (won with
  its rank, or did not advance), nothing of the other branch's;
- the sign-in page switches to English.

Every main page is checked with axe-core (no `serious` or `critical`
violation) and for browser console errors (SEVERE), and photographed into
--screenshots when given. A failed check is reported and the walk goes on
where it can; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)
WAIT = 15  # seconds, for every explicit wait
PASSWORD = "browser-test-password-2026"
M1_PASSWORD = "manager-password-2026"
AXE_FAILING_IMPACTS = ("serious", "critical")
CRITERIA = [
    {"name": "事迹真实性", "weight": 0.5, "max_score": 10},
    {"name": "客户影响", "weight": 0.3, "max_score": 10},
    {"name": "示范意义", "weight": 0.2, "max_score": 5},
]


class StepFailed(Exception):
    """A step the rest of the walk depends on did not happen."""


# --- results ---------------------------------------------------------------


class Checks:
    """Every check's outcome; a failed one is printed at once and at the end."""

    def __init__(self, backend: str):
        self.backend = backend
        self.passed = 0
        self.failed: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {what}", flush=True)
        else:
            self.failed.append(what)
            print(f"  FAIL  {what}", flush=True)
            if detail:
                print(textwrap.indent(detail.rstrip(), "        "), flush=True)
        return ok

    def require(self, ok: bool, what: str, detail: str = "") -> None:
        if not self.check(ok, what, detail):
            raise StepFailed(what)


# --- the server and its API --------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: str, database_url: str, work: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout = work / "server.out"
        self.stderr = work / "server.log"
        env = dict(
            os.environ,
            AWARDS_DATABASE_URL=database_url,
            AWARDS_BIND=f"127.0.0.1:{self.port}",
            AWARDS_ARGON2_MEMORY_KIB="1024",
            AWARDS_ARGON2_ITERATIONS="1",
            AWARDS_WORKERS="2",
            AWARDS_POOL_SIZE="4",
            AWARDS_LOG="warn",
            AWARDS_LOG_FORMAT="json",
        )
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.proc = subprocess.Popen([binary, "serve", "--dev"], env=env, stdout=out, stderr=err, cwd=work)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StepFailed(f"the server exited with {self.proc.returncode}: {self.stderr.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as res:
                    if res.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise StepFailed("the server did not become ready")

    def admin_password(self, seconds: float = 30) -> str:
        """The first admin's one-time password, printed once on first start."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.stdout.read_text().splitlines():
                if line.strip().startswith("password:"):
                    return line.split(":", 1)[1].strip()
            time.sleep(0.2)
        raise StepFailed("the server printed no first-admin password")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def logged_errors(self) -> list[str]:
        """Panics and the service's own ERROR lines (a 5xx logs one)."""
        return [
            line[:2000]
            for line in self.stderr.read_text().splitlines()
            if "panicked" in line or ('"level":"ERROR"' in line and '"target":"actix_http' not in line)
        ]


class Api:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, token: str | None = None, body=None, expect=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, raw = res.status, res.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in expect:
            raise StepFailed(f"API {method} {path} -> {status} {raw[:500].decode(errors='replace')}")
        return json.loads(raw) if raw else None


def when(minutes: int) -> str:
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Award:
    """What the admin sets up over the API before anyone opens a browser."""

    def __init__(self, api: Api, admin_password: str):
        self.api = api
        self.admin = api.call("POST", "/api/v1/auth/login", body={"employee_no": "admin", "password": admin_password})[
            "access_token"
        ]
        company = self.as_admin("POST", "/api/v1/member-companies", {"code": "PAB", "name": "平安银行"})
        self.branch1 = self.as_admin(
            "POST", "/api/v1/branches", {"code": "SZ01", "name": "深圳分行", "member_company_id": company["id"]}
        )["id"]
        self.branch2 = self.as_admin(
            "POST", "/api/v1/branches", {"code": "GZ01", "name": "广州分行", "member_company_id": company["id"]}
        )["id"]
        # M1 activates the account in the browser, with this code.
        m1 = self.as_admin(
            "POST", "/api/v1/users", {"employee_no": "M1", "name": "陈经理", "branch_id": self.branch1, "roles": ["manager"]}
        )
        self.m1_activation_code = m1["activation_code"]
        self.staff = {}  # name -> user id
        for no, name, branch in (
            ("E1001", "张晓梅", self.branch1),
            ("E1002", "李建国", self.branch1),
            ("E1003", "王芳", self.branch1),
            ("E2001", "赵磊", self.branch2),
        ):
            self.staff[name] = self.as_admin("POST", "/api/v1/users", {"employee_no": no, "name": name, "branch_id": branch})["id"]
        self.r1_id, self.r1_token = self.activated("R1", "刘评委", None, ["reviewer"])
        self.opens_at = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=60)
        self.campaign = self.as_admin(
            "POST",
            "/api/v1/campaigns",
            {
                "name": "2026 最美消保人",
                "nomination_opens_at": self.opens_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "nomination_closes_at": when(60 * 24 * 30),
                "nominations_per_branch": 1,
                "winners_target": 1,
            },
        )["id"]
        self.as_admin("PATCH", f"/api/v1/campaigns/{self.campaign}", {"status": "nominating"})
        self.round = None

    def as_admin(self, method: str, path: str, body=None):
        return self.api.call(method, path, self.admin, body if body is not None else ({} if method == "POST" else None))

    def activated(self, no: str, name: str, branch, roles) -> tuple[int, str]:
        made = self.as_admin("POST", "/api/v1/users", {"employee_no": no, "name": name, "branch_id": branch, "roles": roles})
        signed = self.api.call(
            "POST",
            "/api/v1/auth/activate",
            body={"employee_no": no, "activation_code": made["activation_code"], "new_password": PASSWORD},
        )
        return made["id"], signed["access_token"]

    def nominations(self) -> list[dict]:
        return self.as_admin("GET", f"/api/v1/campaigns/{self.campaign}/nominations?per_page=100")["items"]

    def start_review(self) -> dict:
        """Three submitted nominations (the quota raised for the refused
        draft, one of branch 2 by the admin), screening, a group round with
        R1 on its panel, open and assigned."""
        c = self.campaign
        self.as_admin("PATCH", f"/api/v1/campaigns/{c}", {"nominations_per_branch": 2})
        for n in self.nominations():
            if n["status"] == "draft":
                self.as_admin("POST", f"/api/v1/nominations/{n['id']}/submit")
        other = self.as_admin(
            "POST",
            f"/api/v1/campaigns/{c}/nominations",
            {"nominee_id": self.staff["赵磊"], "title": "三小时劝阻电信诈骗", "summary": "识破诈骗，挽回老人养老钱。",
             "story": "他在柜台前耐心劝阻客户三个小时，最终报警挽回损失。"},
        )
        self.as_admin("POST", f"/api/v1/nominations/{other['id']}/submit")
        self.round = self.as_admin(
            "POST",
            f"/api/v1/campaigns/{c}/rounds",
            {"name": "集团初评", "reviews_per_entry": 1, "criteria": CRITERIA, "advance": {"rule": "top_n", "n": 1}},
        )
        self.as_admin("PATCH", f"/api/v1/campaigns/{c}", {"status": "screening"})
        r = self.round["id"]
        self.as_admin("POST", f"/api/v1/rounds/{r}/reviewers", {"user_ids": [self.r1_id]})
        self.as_admin("POST", f"/api/v1/rounds/{r}/open")
        self.as_admin("POST", f"/api/v1/rounds/{r}/assignments", {"seed": 7})
        return self.round

    def r1_assignments(self) -> dict:
        return self.api.call("GET", f"/api/v1/rounds/{self.round['id']}/assignments/mine?per_page=100", self.r1_token)

    def finish_reviews_and_close(self, scores: list[float]) -> list[int]:
        """R1's unscored entries scored over the API, then the round closed;
        the entries scored here."""
        r = self.round["id"]
        done = []
        for a in self.r1_assignments()["items"]:
            if a["reviewed"]:
                continue
            body = {"scores": {str(c["id"]): s for c, s in zip(self.round["criteria"], scores)}, "comment": "经核实属实"}
            self.api.call("PUT", f"/api/v1/rounds/{r}/entries/{a['nomination_id']}/review", self.r1_token, body)
            done.append(a["nomination_id"])
        self.as_admin("POST", f"/api/v1/rounds/{r}/close")
        return done

    def publish(self) -> None:
        """The screening is over: the campaign is finished, then published."""
        for status in ("finished", "published"):
            self.as_admin("PATCH", f"/api/v1/campaigns/{self.campaign}", {"status": status})

    def results(self) -> dict[int, dict]:
        """The closed round's frozen results, by nomination (as admin)."""
        items = self.as_admin("GET", f"/api/v1/rounds/{self.round['id']}/results?per_page=100")["items"]
        return {item["nomination_id"]: item for item in items}


# --- the browser -------------------------------------------------------------


class Browser:
    """One headless Chromium, with the helpers a person's steps need."""

    def __init__(self, ctx: "Context", who: str, profile: Path | None = None):
        self.ctx = ctx
        self.who = who
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (
            "--headless=new",
            "--no-sandbox",
            f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
            "--lang=zh-CN",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ):
            options.add_argument(arg)
        if profile is not None:
            options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN"})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.wait = WebDriverWait(self.driver, WAIT)

    # Navigation

    def open(self, path: str) -> None:
        self.driver.get(self.ctx.base + path)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.ctx.base)

    def click_through(self, css: str) -> None:
        """Clicks what leads to another page and waits for that page: a mark
        left on this page's window is gone on the next one."""
        target = self.element(css)
        self.driver.execute_script("window.awardsTestOldPage = true")
        target.click()
        # While the page changes, the driver may answer with errors of its own.
        WebDriverWait(self.driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return !window.awardsTestOldPage && document.readyState === 'complete'")
        )

    # Finding and typing

    def element(self, css: str):
        try:
            return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))
        except TimeoutException:
            raise StepFailed(f"{self.who}: no visible {css} on {self.path()}\n{self.text()[:1500]}") from None

    def text(self, css: str = "body") -> str:
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""

    def value(self, css: str) -> str:
        return self.driver.find_element(By.CSS_SELECTOR, css).get_attribute("value")

    def type(self, css: str, text: str, clear: bool = False) -> None:
        field = self.element(css)
        if clear:
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys(Keys.DELETE)
        field.send_keys(text)

    def wait_for_text(self, css: str, text: str) -> bool:
        """Whether `text` appears in `css` within the wait."""
        try:
            self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
            return True
        except TimeoutException:
            return False

    def lang(self) -> str:
        return self.driver.execute_script("return document.documentElement.lang")

    def draft_keys(self) -> list[str]:
        return self.driver.execute_script(
            "return Object.keys(localStorage).filter(k => k.startsWith('awards-draft:')).sort()"
        )

    def local_draft(self, key: str):
        text = self.driver.execute_script("return localStorage.getItem(arguments[0])", "awards-draft:" + key)
        return json.loads(text) if text else None

    # People's steps

    def sign_in(self, employee_no: str, password: str, button: str = "登录") -> None:
        """On the sign-in page: types the number and password, clicks 登录."""
        self.type("#employee_no", employee_no, clear=True)
        self.type("#password", password)
        found = self.element("main form button[type=submit]").text
        self.ctx.checks.check(found == button, f"{self.who}: the sign-in button says {button}", found)
        self.click_through("main form button[type=submit]")
        if self.path().startswith("/console/login"):
            raise StepFailed(f"{self.who}: still on the sign-in page: {self.text('main')}")

    def resize(self, viewport: tuple[int, int]) -> None:
        """Resizes the window so that the page's viewport is this size."""
        outer = self.driver.execute_script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
        self.driver.set_window_size(viewport[0] + outer[0], viewport[1] + outer[1])
        self.wait.until(lambda d: d.execute_script("return [window.innerWidth, window.innerHeight]") == list(viewport))

    # The checks every main page gets

    def page_check(self, name: str, document_status: int | None = None, screenshot: bool = True) -> None:
        """Screenshot (with --screenshots), axe-core, browser console errors.
        `document_status`: the page itself is answered with this 4xx on
        purpose (a refusal), so the browser's line about it is expected."""
        checks = self.ctx.checks
        if screenshot and self.ctx.screenshots:
            self.driver.save_screenshot(str(self.ctx.screenshots / f"{name}.png"))
        self.driver.execute_script(self.ctx.axe_source)
        result = self.driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']})
              .then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                  nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}))}))
              .catch(e => done({error: String(e)}));
            """
        )
        if "error" in result:
            checks.check(False, f"{name}: axe-core ran", result["error"])
        else:
            serious = [v for v in result["violations"] if v["impact"] in AXE_FAILING_IMPACTS]
            for v in result["violations"]:
                if v not in serious:
                    print(f"  note  {name}: axe {v['impact']}: {v['id']} ({v['help']}) on {len(v['nodes'])} element(s)")
            checks.check(
                not serious,
                f"{name}: no serious or critical axe-core violation ({result['passes']} rules passed)",
                describe_axe(serious),
            )
        errors = self.console_errors(document_status)
        checks.check(not errors, f"{name}: no browser console error", "\n".join(errors))

    def console_errors(self, document_status: int | None = None) -> list[str]:
        """SEVERE lines in the browser's console since the last look."""
        here = self.driver.current_url.split("#")[0]
        errors = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = entry["message"]
            expected = (
                document_status is not None
                and entry.get("source") == "network"
                and message.startswith(here + " ")
                and f"status of {document_status} " in message
            )
            if expected:
                print(f"  note  the page itself answered {document_status}, as it should: {message}")
            else:
                errors.append(message)
        return errors

    def quit(self) -> None:
        """Quits the browser; console errors since the last page check fail."""
        try:
            errors = self.console_errors()
            self.ctx.checks.check(not errors, f"{self.who}: no browser console error after the last page", "\n".join(errors))
        finally:
            self.driver.quit()


def describe_axe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
        for n in v["nodes"][:10]:
            lines.append(f"    {n['target']}")
            lines.append(textwrap.indent(n["summary"] or "", "        "))
    return "\n".join(lines)


class Context:
    def __init__(self, args, checks: Checks, base: str, work: Path):
        self.checks = checks
        self.base = base
        self.work = work
        self.axe_source = Path(args.axe).read_text()
        self.screenshots = Path(args.screenshots) if args.screenshots else None
        if self.screenshots:
            self.screenshots.mkdir(parents=True, exist_ok=True)


# --- the walk ------------------------------------------------------------------


def manager_nominates(ctx: Context, award: Award) -> Browser:
    """M1 activates, signs in, nominates; is refused once; keeps a draft."""
    checks = ctx.checks
    c = award.campaign
    m = Browser(ctx, "manager")

    print("- the sign-in page, then activation", flush=True)
    m.open("/")
    checks.require(m.path().startswith("/console/login"), "/ leads to the sign-in page", m.path())
    checks.check(m.lang() == "zh-CN", "the sign-in page is in Chinese (<html lang=zh-CN>)", m.lang())
    checks.check("登录评选平台" in m.text("h1"), "the sign-in page's heading", m.text("h1"))
    m.page_check("login")
    m.click_through("a[href='/console/activate']")
    m.page_check("activate")
    m.type("#employee_no", "M1")
    m.type("#activation_code", award.m1_activation_code)
    m.type("#new_password", M1_PASSWORD)
    m.type("#repeat_password", M1_PASSWORD)
    m.click_through("main form button[type=submit]")
    checks.require(m.path() == "/console/", "activation signs the manager in, on the home page", m.path() + "\n" + m.text("main"))
    checks.check("您好，陈经理" in m.text("h1"), "the home page greets the manager by name", m.text("h1"))

    print("- sign out, sign in through the page", flush=True)
    m.click_through("header form button[type=submit]")
    checks.require(m.path().startswith("/console/login"), "signing out leads to the sign-in page", m.path())
    m.sign_in("M1", M1_PASSWORD)
    checks.require(m.path() == "/console/", "signing in leads to the home page", m.path())
    checks.check("评选活动" in m.text("main") and "2026 最美消保人" in m.text("main"), "the home page lists the campaign", m.text("main"))
    m.page_check("manager-home")

    print("- the campaign: window in Beijing time, quota", flush=True)
    m.click_through(f"a[href='/console/campaigns/{c}']")
    checks.check(m.text("h1") == "2026 最美消保人", "the campaign page's heading", m.text("h1"))
    beijing = award.opens_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    opens = f"{beijing.year}年{beijing.month}月{beijing.day}日 {beijing:%H:%M}（北京时间）"
    checks.check(opens in m.text("main"), f"the window opens at {opens}", m.text("main"))
    checks.check(m.text("#quota") == "已提交 0 个，共 1 个，剩余 1 个", "the quota: 0 of 1 used", m.text("#quota"))
    m.page_check("campaign")

    print("- a new nomination: search a name, pick, type, submit", flush=True)
    m.click_through(f"a[href='/console/campaigns/{c}/nominations/new']")
    checks.check(m.text("h1") == "新建推荐", "the form's heading is 新建推荐", m.text("h1"))
    m.type("#nominee-search", "赵磊")
    checks.check(
        m.wait_for_text("#nominee-options", "本机构没有符合的员工"),
        "searching another branch's employee (赵磊) finds no one",
        m.text("#nominee-options"),
    )
    m.type("#nominee-search", "晓梅", clear=True)
    pick = "#nominee-options button[data-pick-id]"
    m.element(pick)
    found = m.text("#nominee-options")
    checks.check("张晓梅" in found and "E1001" in found, "searching 晓梅 finds 张晓梅 (E1001) of the own branch", found)
    m.element(pick).click()
    checks.check(m.wait_for_text("[data-chosen-label]", "张晓梅（E1001）"), "the picked nominee is shown as chosen", m.text("#nominee-chosen"))
    checks.check(m.value("input[name=nominee_id]") == str(award.staff["张晓梅"]), "the picked nominee's id is in the form", m.value("input[name=nominee_id]"))
    counter_before = m.text("#title-count")
    title = "守护老人的钱袋子"
    m.type("#title", title)
    checks.check(
        m.wait_for_text("#title-count", f"{len(title)} / 60") and m.text("#title-count") != counter_before,
        "the title's counter follows the typing",
        f"{counter_before!r} -> {m.text('#title-count')!r}",
    )
    m.type("#summary", "识破冒充公检法的电信诈骗，为老人挽回二十万元。")
    story = "那天下午，一位老人神色慌张地要求转账二十万元。张晓梅耐心询问，发现是冒充公检法的诈骗，\n她一边安抚老人，一边联系家属并报警，最终保住了老人的养老钱。"
    m.type("#story", story)
    checks.check(m.wait_for_text("#story-count", f"{len(story)} / 5000"), "the story's counter counts every character", m.text("#story-count"))
    # The picture shows the form filled in.
    m.page_check("nomination-form")
    m.click_through("button[name=action][value=submit]")
    checks.require(m.path().startswith("/console/nominations/"), "submitting leads to the nomination's page", m.path() + "\n" + m.text("main"))
    checks.check("已提交" in m.text("h1"), "the nomination's status is 已提交", m.text("h1"))
    checks.check("已保存" in m.text("main"), "the page says it was saved", m.text("main"))
    m.page_check("nomination-submitted", screenshot=False)
    m.click_through(f"main a[href='/console/campaigns/{c}']")
    checks.check(m.text("#quota") == "已提交 1 个，共 1 个，剩余 0 个", "the quota: 1 of 1 used", m.text("#quota"))
    checks.check("守护老人的钱袋子" in m.text("table") and "已提交" in m.text("table"), "the campaign lists the submitted nomination", m.text("main"))

    print("- a second nomination while the quota is full: refused, nothing lost", flush=True)
    m.click_through(f"a[href='/console/campaigns/{c}/nominations/new']")
    # Nothing is unsaved now: the form must open empty, without the draft notice.
    leftover = {f: m.value(f"#{f}") for f in ("title", "summary", "story")}
    checks.check(
        not any(leftover.values()) and not m.driver.find_element(By.CSS_SELECTOR, "[data-draft-note]").is_displayed(),
        "a new nomination after a submitted one opens empty, without 已恢复您上次未保存的内容",
        f"fields: {leftover}\nchosen: {m.text('#nominee-chosen')}\nnote shown: "
        f"{m.driver.find_element(By.CSS_SELECTOR, '[data-draft-note]').is_displayed()}\n"
        f"localStorage awards-draft:new-nomination-{c}: {m.local_draft(f'new-nomination-{c}')}",
    )
    m.type("#nominee-search", "建国", clear=True)
    m.element(pick)
    m.element(pick).click()
    checks.check(m.wait_for_text("[data-chosen-label]", "李建国（E1002）"), "李建国 picked", m.text("#nominee-chosen"))
    title2 = "十年如一日的金融知识宣讲"
    m.type("#title", title2, clear=True)
    m.type("#summary", "走进社区为老人讲解防诈骗知识。", clear=True)
    m.type("#story", "李建国利用周末走进三十多个社区，为上千位老人讲解防诈骗知识。", clear=True)
    m.click_through("button[name=action][value=submit]")
    problem = m.text("#form-problem")
    checks.check("名额" in problem, "the refusal says why, in Chinese, naming the quota (名额)", problem or m.text("main"))
    checks.check(m.value("#title") == title2, "the typed title is kept", m.value("#title"))
    m.page_check("nomination-refused", document_status=409)

    print("- a draft kept by the browser when the tab is closed", flush=True)
    m.open(f"/console/campaigns/{c}/nominations/new")
    draft_story = "王芳在营业厅工作八年，连续三年零投诉。她为听障客户学会了手语，"
    m.type("#nominee-search", "王芳", clear=True)
    m.element(pick).click()
    m.type("#title", "用手语服务每一位客户", clear=True)
    m.type("#summary", "为听障客户学习手语，连续三年零投诉。", clear=True)
    m.type("#story", draft_story, clear=True)
    form_tab = m.driver.current_window_handle
    m.driver.switch_to.new_window("tab")
    other_tab = m.driver.current_window_handle
    m.driver.switch_to.window(form_tab)
    m.driver.close()
    m.driver.switch_to.window(other_tab)
    m.open(f"/console/campaigns/{c}")
    m.click_through(f"a[href='/console/campaigns/{c}/nominations/new']")
    checks.check(m.value("#story") == draft_story, "the story typed before closing the tab is restored", m.value("#story"))
    checks.check(m.wait_for_text("[data-draft-note]", "已恢复您上次未保存的内容"), "the restored-draft notice is shown", m.text("main"))
    checks.check("王芳（E1003）" in m.text("#nominee-chosen"), "the picked nominee is restored too", m.text("#nominee-chosen"))
    m.page_check("nomination-draft-restored", screenshot=False)
    m.resize(PHONE)
    m.page_check("nomination-form-phone")
    m.driver.set_window_size(*DESKTOP)
    return m


def reviewer_scores(ctx: Context, award: Award) -> tuple[Browser, list[int], dict]:
    """R1 scores with save-and-next, types into the next entry, quits the
    browser mid-entry, and finds the typed score again."""
    checks = ctx.checks
    rnd = award.round
    r = rnd["id"]
    criteria = rnd["criteria"]
    total = award.r1_assignments()["total"]
    profile = ctx.work / "reviewer-profile"
    b = Browser(ctx, "reviewer", profile)

    print("- the reviewer signs in; the queue", flush=True)
    b.open("/console/")
    checks.require(b.path().startswith("/console/login"), "the home page asks the reviewer to sign in", b.path())
    b.page_check("login-reviewer", screenshot=False)
    b.sign_in("R1", PASSWORD)
    checks.require(b.path() == "/console/", "the reviewer lands on the home page", b.path())
    checks.check(f"已评 0 / {total}" in b.text("main"), f"the home page shows the round: 已评 0 / {total}", b.text("main"))
    b.click_through(f"a[href='/console/rounds/{r}']")
    checks.check(b.text("#progress") == f"已评 0 / {total}", f"the queue's progress: 已评 0 / {total}", b.text("#progress"))
    checks.check(len(b.driver.find_elements(By.CSS_SELECTOR, "main tbody tr")) == total, f"the queue lists {total} entries", b.text("main"))
    b.page_check("reviewer-queue")

    print("- the first entry: criteria by name, scores, save and next", flush=True)
    b.click_through(f"main a.button[href^='/console/rounds/{r}/entries/']")
    first = int(b.path().split("?")[0].split("/")[-1])
    rubric = b.text("form.rubric")
    for c in CRITERIA:
        checks.check(c["name"] in rubric, f"the rubric names {c['name']}", rubric)
    checks.check(f"满分 {CRITERIA[2]['max_score']}" in rubric, "the rubric gives each maximum", rubric)
    first_scores = ["9", "7.5", "4"]
    for c, s in zip(criteria, first_scores):
        b.type(f"#score-{c['id']}", s)
    b.type("#comment", "事迹属实，材料翔实。")
    b.page_check("review-entry")
    b.click_through("button[name=action][value=next]")
    second = int(b.path().split("?")[0].split("/")[-1]) if b.path().startswith(f"/console/rounds/{r}/entries/") else None
    checks.require(second is not None and second != first, "保存并下一位 opens another entry", b.path() + "\n" + b.text("main"))
    checks.check(b.text("#progress") == f"已评 1 / {total}", f"the progress went up: 已评 1 / {total}", b.text("#progress"))
    checks.check(
        [c for c in award.r1_assignments()["items"] if c["nomination_id"] == first][0]["reviewed"],
        "the first entry's review is recorded",
    )
    b.page_check("review-entry-next", screenshot=False)

    print("- a score typed, the browser closed mid-entry, opened again", flush=True)
    typed = "8"
    b.type(f"#score-{criteria[0]['id']}", typed)
    b.quit()
    b = Browser(ctx, "reviewer (again)", profile)
    b.open(f"/console/rounds/{r}/entries/{second}")
    if b.path().startswith("/console/login"):
        b.sign_in("R1", PASSWORD)
    checks.require(b.path() == f"/console/rounds/{r}/entries/{second}", "after signing in again the reviewer is back on the entry", b.path())
    checks.check(b.value(f"#score-{criteria[0]['id']}") == typed, "the score typed before the browser closed is restored", b.value(f"#score-{criteria[0]['id']}"))
    checks.check(b.wait_for_text("[data-draft-note]", "已恢复您上次未保存的内容"), "the restored-draft notice is shown", b.text("form.rubric"))
    b.page_check("review-entry-restored", screenshot=False)
    return b, [first, second], dict(zip((c["id"] for c in criteria), first_scores))


def round_closed(ctx: Context, award: Award, b: Browser, entries: list[int], first_scores: dict, m: Browser) -> None:
    checks = ctx.checks
    rnd = award.round
    r = rnd["id"]
    api_scores = [5, 6, 3]
    finished = award.finish_reviews_and_close(api_scores)
    checks.check(entries[1] in finished, "the entry left unsaved in the browser is scored over the API", str(finished))

    print("- after the close: the scores are locked", flush=True)
    first, second = entries
    b.open(f"/console/rounds/{r}/entries/{first}")
    checks.check("本轮已结束，评分已锁定" in b.text("form.rubric"), "the entry page says 本轮已结束，评分已锁定", b.text("form.rubric"))
    checks.check(not b.driver.find_elements(By.CSS_SELECTOR, "button[name=action]"), "no save buttons on a locked entry", b.text("form.rubric"))
    for cid, s in first_scores.items():
        field = b.driver.find_element(By.ID, f"score-{cid}")
        checks.check(field.get_attribute("readonly") is not None and field.get_attribute("value") == s,
                     f"score-{cid} is read-only and shows the saved {s}", f"value {field.get_attribute('value')!r}, readonly {field.get_attribute('readonly')!r}")
    b.page_check("review-entry-locked", screenshot=False)
    # The entry whose score was only typed in the browser, then recorded elsewhere.
    b.open(f"/console/rounds/{r}/entries/{second}")
    checks.check("本轮已结束，评分已锁定" in b.text("form.rubric"), "the other entry is locked too", b.text("form.rubric"))
    shown = [b.value(f"#score-{c['id']}") for c in rnd["criteria"]]
    checks.check(
        shown == [str(s) for s in api_scores],
        "a locked entry shows the recorded scores, not an old unsaved draft of this browser",
        f"recorded {api_scores}, shown {shown}; draft note shown: "
        f"{b.driver.find_element(By.CSS_SELECTOR, '[data-draft-note]').is_displayed()}; "
        f"localStorage awards-draft:review-{r}-{second}: {b.local_draft(f'review-{r}-{second}')}; "
        f"drafts this browser keeps: {b.draft_keys()}",
    )
    b.page_check("review-entry-locked-other", screenshot=False)
    b.open(f"/console/rounds/{r}")
    checks.check(b.text("#progress") == f"已评 {award.r1_assignments()['total']} / {award.r1_assignments()['total']}", "the queue shows every entry reviewed", b.text("#progress"))
    checks.check("本轮评审未在进行" in b.text("main"), "the queue says the round is not open", b.text("main"))
    b.page_check("reviewer-queue-closed", screenshot=False)

    print("- the manager's campaign page still loads", flush=True)
    c = award.campaign
    m.open(f"/console/campaigns/{c}")
    checks.check(m.text("h1") == "2026 最美消保人" and m.text("#quota").startswith("已提交 2 个"), "the campaign page loads in screening", m.text("main"))
    checks.check("现在不在推荐时间内" in m.text("main"), "it says the window is not open now", m.text("main"))
    checks.check(
        m.text("#outcomes-later") == "各轮评审结果将在评选结果公布后在此显示。" and not m.driver.find_elements(By.CSS_SELECTOR, "td.outcomes"),
        "before publication the page shows no outcome, only that they come with publication",
        m.text("main"),
    )
    m.page_check("campaign-screening", screenshot=False)


def campaign_published(ctx: Context, award: Award, m: Browser) -> None:
    """The campaign is finished and published over the API: the manager's page
    shows each own nomination's outcome in the round, as the results say."""
    checks = ctx.checks
    c = award.campaign
    award.publish()
    results = award.results()
    round_name = award.round["name"]

    print("- published: the manager sees each own nomination's outcome", flush=True)
    m.open(f"/console/campaigns/{c}")
    checks.check(not m.driver.find_elements(By.CSS_SELECTOR, "#outcomes-later"), "the waiting line is gone", m.text("main"))
    own = [n for n in award.nominations() if n["branch_id"] == award.branch1]
    for n in own:
        result = results[n["id"]]
        word = f"获奖（第 {result['rank']} 名）" if result["advanced"] else "未晋级"
        rows = m.driver.find_elements(By.XPATH, f"//tr[.//a[@href='/console/nominations/{n['id']}']]")
        row = rows[0].text if rows else ""
        checks.check(f"{round_name} {word}" in row, f"{n['title']}: {round_name} {word}", row or m.text("main"))
    others = [n["title"] for n in award.nominations() if n["branch_id"] != award.branch1]
    checks.check(
        others and not any(t in m.text("main") for t in others),
        "another branch's nomination and its outcome are not on the page",
        m.text("main"),
    )
    m.page_check("campaign-published")


def english(ctx: Context, award: Award) -> None:
    """A link to the campaign, opened in a new browser: the sign-in page,
    switched to English, signs the manager in to that campaign."""
    checks = ctx.checks
    c = award.campaign
    e = Browser(ctx, "English reader")
    try:
        print("- the sign-in page in English", flush=True)
        e.open(f"/console/campaigns/{c}")
        checks.require(
            e.path().startswith("/console/login?next=") and f"campaigns%2F{c}" in e.path().replace("/", "%2F"),
            "a link to the campaign asks to sign in first, keeping where it leads",
            e.path(),
        )
        checks.check(e.lang() == "zh-CN", "a new browser gets Chinese first", e.lang())
        e.page_check("login-link", screenshot=False)
        e.click_through("header a[href^='/console/lang/en']")
        switched = e.path()
        checks.check(e.lang() == "en", "/console/lang/en switches the sign-in page to English (<html lang=en>)", e.lang())
        checks.check("Sign in" in e.text("h1"), "the heading is in English", e.text("h1"))
        e.page_check("login-en")
        e.sign_in("M1", M1_PASSWORD, button="Sign in")
        checks.check(
            e.path() == f"/console/campaigns/{c}",
            "after switching language on the sign-in page, signing in still leads to the page asked for",
            f"after the switch: {switched}; after signing in: {e.path()}",
        )
        e.open(f"/console/campaigns/{c}")
        checks.check(e.lang() == "en" and "Beijing time" in e.text("main"), "the campaign page is in English too", e.text("main"))
        outcomes = e.text("thead") + " " + " ".join(td.text for td in e.driver.find_elements(By.CSS_SELECTOR, "td.outcomes"))
        checks.check(
            "Outcome by round" in outcomes and ("Won (rank" in outcomes or "Did not advance" in outcomes),
            "the outcomes are in English too",
            outcomes,
        )
        e.page_check("campaign-en", screenshot=False)
    finally:
        e.quit()


def walk(args, checks: Checks, server: Server, work: Path) -> None:
    server.wait_ready()
    api = Api(server.base)
    award = Award(api, server.admin_password())
    ctx = Context(args, checks, server.base, work)
    browsers: list[Browser] = []
    try:
        m = manager_nominates(ctx, award)
        browsers.append(m)
        listed = award.nominations()
        checks.check(
            [n["status"] for n in listed] == ["submitted", "draft"],
            "the API has the submitted nomination and the refused one as a draft",
            json.dumps([(n["title"], n["status"]) for n in listed], ensure_ascii=False),
        )
        award.start_review()
        b, entries, first_scores = reviewer_scores(ctx, award)
        browsers.append(b)
        round_closed(ctx, award, b, entries, first_scores, m)
        campaign_published(ctx, award, m)
    finally:
        for browser in browsers:
            try:
                browser.quit()
            except Exception:  # noqa: BLE001 — a browser that died already
                traceback.print_exc()
    english(ctx, award)


def postgres_database(server: str) -> tuple[str, str]:
    name = f"awards_browser_{os.getpid()}_{secrets.token_hex(4)}"
    subprocess.run(["psql", f"{server}/postgres", "-qAtc", f"CREATE DATABASE {name}"], check=True)
    return name, f"{server}/{name}"


def drop_postgres(server: str, name: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-qAtc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--axe", required=True, help="axe-core's axe.min.js")
    parser.add_argument("--backend", required=True, choices=("sqlite", "postgres"))
    parser.add_argument("--postgres-url", default=os.environ.get("AWARDS_TEST_POSTGRES_URL", ""),
                        help="server URL without a database, e.g. postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--screenshots", help="save each main page's picture here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database, server log, profile)")
    args = parser.parse_args()

    started = time.monotonic()
    checks = Checks(args.backend)
    work = Path(tempfile.mkdtemp(prefix=f"awards-browser-{args.backend}-"))
    database = None
    server = None
    print(f"=== console in Chromium, on {args.backend}", flush=True)
    try:
        if args.backend == "sqlite":
            url = f"sqlite://{work / 'awards.db'}"
        else:
            if not args.postgres_url:
                parser.error("--backend postgres needs --postgres-url or AWARDS_TEST_POSTGRES_URL")
            database, url = postgres_database(args.postgres_url.rstrip("/"))
        try:
            server = Server(str(Path(args.binary).resolve()), url, work)
            walk(args, checks, server, work)
        except StepFailed as e:
            checks.failed.append(f"stopped: {str(e).splitlines()[0]}")
            print(f"  STOP  {e}", flush=True)
        except Exception as e:  # noqa: BLE001 — report it like a failed check
            checks.failed.append(f"stopped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            traceback.print_exc()
    finally:
        if server is not None:
            server.stop()
            errors = server.logged_errors()
            checks.check(not errors, "the server logged no panic or error", "\n".join(errors[:20]))
        if database is not None:
            drop_postgres(args.postgres_url.rstrip("/"), database)
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"--- {args.backend}: {time.monotonic() - started:.0f}s")
    for f in checks.failed:
        print(f"  failed: {f}")
    print(f"browser ({args.backend}): {checks.passed} passed, {len(checks.failed)} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
