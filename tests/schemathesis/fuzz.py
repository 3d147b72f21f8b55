"""Fuzzes the running service with schemathesis, once per role.

Started by `tests/schemathesis/run`, which provides the virtualenv. For each
backend it starts `awards serve` on a fresh database, builds a small but real
award over HTTP (member companies, branches, a manager, reviewers, voters,
campaigns in every state, open and closed rounds, reviews, votes), signs in
as employee, reviewer, manager and admin, and runs `st run` against
/api/openapi.json with each token: admin last, since an admin may change or
disable the others. Generated integers are drawn from the fixture's ids half
of the time, so that requests reach real resources and not only 404s.

Fails (exit 1) when schemathesis reports a failure, when the server logged a
panic or a 5xx, or when the fixture cannot be built. Leaves nothing behind:
the database, logs and reports live in a temporary directory (`--keep` keeps
it; AWARDS_FUZZ_LOG=info puts every request in its server log).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROLES = ("employee", "reviewer", "manager", "admin")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
PASSWORD = "fuzzing-password-2026"


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
            raise RuntimeError(f"fixture: {method} {path} -> {status} {raw[:500]!r}")
        return json.loads(raw) if raw else None


def when(minutes: int) -> str:
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


CRITERIA = [
    {"name": "事迹真实性", "weight": 0.5, "max_score": 10},
    {"name": "客户影响", "weight": 0.3, "max_score": 10},
    {"name": "示范意义", "weight": 0.2, "max_score": 5},
]


def build_fixture(api: Api, admin_password: str) -> tuple[dict[str, str], list[int]]:
    """A small award in every state; returns a token per role and every id made."""
    ids: set[int] = set()
    admin = api.call("POST", "/api/v1/auth/login", body={"employee_no": "admin", "password": admin_password})
    token = admin["access_token"]
    ids.add(admin["user"]["id"])

    def make(path: str, body: dict, who: str | None = None) -> dict:
        made = api.call("POST", path, who or token, body)
        ids.add(made["id"])
        return made

    companies = [make("/api/v1/member-companies", {"code": c, "name": n}) for c, n in (("PAB", "平安银行"), ("PAL", "平安人寿"))]
    branches = [
        make("/api/v1/branches", {"code": code, "name": name, "member_company_id": companies[c]["id"]})
        for code, name, c in (("SZ01", "深圳分行", 0), ("GZ01", "广州分行", 0), ("SH01", "上海分公司", 1))
    ]

    def person(no: str, branch: int | None, roles: list[str], activate: bool = True) -> tuple[int, str | None]:
        made = make("/api/v1/users", {"employee_no": no, "name": f"员工{no}", "branch_id": branch, "roles": roles})
        if not activate:
            return made["id"], None
        signed = api.call(
            "POST",
            "/api/v1/auth/activate",
            body={"employee_no": no, "activation_code": made["activation_code"], "new_password": PASSWORD},
        )
        return made["id"], signed["access_token"]

    b = [br["id"] for br in branches]
    _, manager = person("M0001", b[0], ["manager"])
    reviewer_id, reviewer = person("R0001", None, ["reviewer"])
    reviewer2_id, reviewer2 = person("R0002", b[2], ["reviewer"])
    _, employee = person("E0001", b[1], ["employee"])
    nominees = [person(f"N000{i}", b[i % 3], ["employee"], activate=False)[0] for i in range(6)]

    def campaign(name: str, target: int) -> int:
        made = make(
            "/api/v1/campaigns",
            {"name": name, "nomination_opens_at": when(-60), "nomination_closes_at": when(60 * 24 * 30),
             "nominations_per_branch": 3, "winners_target": target},
        )
        api.call("PATCH", f"/api/v1/campaigns/{made['id']}", token, {"status": "nominating"})
        return made["id"]

    def nominate(c: int, nominee: int, who: str, submit: bool = True) -> int:
        made = make(
            f"/api/v1/campaigns/{c}/nominations",
            {"nominee_id": nominee, "title": "守护老人钱袋子", "summary": "识破电信诈骗，挽回损失。",
             "story": "她在柜台前坚持了三个小时，劝阻客户转账。", "links": ["https://example.com/case/1"]},
            who,
        )
        if submit:
            api.call("POST", f"/api/v1/nominations/{made['id']}/submit", who)
        return made["id"]

    def round_(c: int, body: dict) -> dict:
        return make(f"/api/v1/campaigns/{c}/rounds", body)

    def review_all(r: dict, who: str) -> None:
        mine = api.call("GET", f"/api/v1/rounds/{r['id']}/assignments/mine?per_page=500", who)
        for a in mine["items"]:
            scores = {str(c["id"]): c["max_score"] / 2 for c in r["criteria"]}
            api.call("PUT", f"/api/v1/rounds/{r['id']}/entries/{a['nomination_id']}/review", who,
                     {"scores": scores, "comment": "事迹真实"})

    # 1: open for nominations, a draft and submitted ones, by the manager and the admin.
    c1 = campaign("2026 最美消保人", 2)
    nominate(c1, nominees[0], manager)
    nominate(c1, nominees[3], manager, submit=False)
    nominate(c1, nominees[1], token)
    round_(c1, {"name": "员工投票", "kind": "vote", "votes_per_voter": 3, "opens_at": when(60 * 24 * 40),
                "advance": {"rule": "top_n", "n": 2}})  # stays pending
    # 2: screening: a closed review round, then an open combined round with votes and reviews.
    c2 = campaign("2025 最美消保人", 2)
    for n in nominees:
        nominate(c2, n, token)
    r1 = round_(c2, {"name": "成员公司初评", "scope": "group", "reviews_per_entry": 1, "criteria": CRITERIA,
                     "advance": {"rule": "top_n", "n": 4}})
    r2 = round_(c2, {"name": "集团终评", "kind": "combined", "reviews_per_entry": 1, "criteria": CRITERIA,
                     "jury_weight": 0.6, "vote_weight": 0.4, "votes_per_voter": 2, "allow_vote_withdrawal": True,
                     "advance": {"rule": "top_n", "n": 2}})
    api.call("PATCH", f"/api/v1/campaigns/{c2}", token, {"status": "screening"})
    for r in (r1, r2):
        api.call("POST", f"/api/v1/rounds/{r['id']}/reviewers", token, {"user_ids": [reviewer_id, reviewer2_id]})
    api.call("POST", f"/api/v1/rounds/{r1['id']}/open", token, {})
    api.call("POST", f"/api/v1/rounds/{r1['id']}/assignments", token, {"seed": 7})
    review_all(r1, reviewer)
    review_all(r1, reviewer2)
    api.call("POST", f"/api/v1/rounds/{r1['id']}/close", token, {})
    api.call("POST", f"/api/v1/rounds/{r2['id']}/open", token, {})
    api.call("POST", f"/api/v1/rounds/{r2['id']}/assignments", token, {"seed": 7})
    review_all(r2, reviewer)
    ballot = api.call("GET", f"/api/v1/rounds/{r2['id']}/ballot", employee)
    first = ballot["candidates"]["items"][0]["nomination_id"]
    api.call("POST", f"/api/v1/rounds/{r2['id']}/votes", employee, {"nomination_id": first})
    # 3: published: one vote round, closed, winners out.
    c3 = campaign("2024 最美消保人", 1)
    for n in nominees[:3]:
        nominate(c3, n, token)
    r3 = round_(c3, {"name": "员工投票", "kind": "vote", "votes_per_voter": 1, "advance": {"rule": "top_n", "n": 1}})
    api.call("PATCH", f"/api/v1/campaigns/{c3}", token, {"status": "screening"})
    api.call("POST", f"/api/v1/rounds/{r3['id']}/open", token, {})
    ballot = api.call("GET", f"/api/v1/rounds/{r3['id']}/ballot", employee)
    api.call("POST", f"/api/v1/rounds/{r3['id']}/votes", employee,
             {"nomination_id": ballot["candidates"]["items"][0]["nomination_id"]})
    api.call("POST", f"/api/v1/rounds/{r3['id']}/close", token, {})
    for status in ("finished", "published"):
        api.call("PATCH", f"/api/v1/campaigns/{c3}", token, {"status": status})

    tokens = {"admin": token, "manager": manager, "reviewer": reviewer, "employee": employee}
    return tokens, sorted(ids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def admin_password(stdout: Path, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in stdout.read_text().splitlines():
            if line.strip().startswith("password:"):
                return line.split(":", 1)[1].strip()
        time.sleep(0.2)
    raise RuntimeError("the server printed no first-admin password")


def schemathesis_config(ids: list[int]) -> str:
    """Generated integers are one of the fixture's ids half of the time."""
    values = ", ".join(str(i) for i in ids)
    return f"""
[dictionaries]
ids = {{ values = [{values}] }}

[generation.dictionaries]
integer = {{ dictionary = "ids", probability = 0.5 }}
"""


def run_backend(args, backend: str, database_url: str, work: Path) -> list[str]:
    failures: list[str] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        AWARDS_DATABASE_URL=database_url,
        AWARDS_BIND=f"127.0.0.1:{port}",
        AWARDS_JWT_SECRET=secrets.token_hex(32),
        AWARDS_ARGON2_MEMORY_KIB="1024",
        AWARDS_ARGON2_ITERATIONS="1",
        AWARDS_WORKERS="2",
        AWARDS_POOL_SIZE="4",
        AWARDS_VOTE_RATE_ACCOUNT="100000",
        AWARDS_LOG=os.environ.get("AWARDS_FUZZ_LOG", "warn"),
        AWARDS_LOG_FORMAT="json",
    )
    stdout, stderr = work / f"{backend}-server.out", work / f"{backend}-server.log"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        proc = subprocess.Popen([args.binary, "serve"], env=env, stdout=out, stderr=err, cwd=work)
    try:
        wait_ready(base, proc)
        tokens, ids = build_fixture(Api(base), admin_password(stdout))
        config = work / f"{backend}-schemathesis.toml"
        config.write_text(schemathesis_config(ids))
        for role in args.roles:
            started = time.monotonic()
            cmd = [
                args.st, "--config-file", str(config), "run", f"{base}/api/openapi.json",
                "--checks", CHECKS,
                "--header", f"Authorization: Bearer {tokens[role]}",
                "--max-examples", str(args.max_examples),
                *(["--max-time", str(args.max_time)] if args.max_time else []),
                "--generation-database", "none",
                "--seed", str(args.seed),
                "--no-color",
                "--output-sanitize", "true",
            ]
            print(f"--- {backend}, {role}: {' '.join(c if 'Bearer' not in c else 'Authorization: Bearer …' for c in cmd[1:])}", flush=True)
            try:
                result = subprocess.run(
                    cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=args.timeout
                )
            except subprocess.TimeoutExpired as e:
                print(e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or ""))
                failures.append(f"{backend}/{role}: schemathesis took longer than {args.timeout}s")
                continue
            elapsed = time.monotonic() - started
            tested = re.search(r"Tested: (\d+)", result.stdout)
            cases = re.search(r"^\s*(\d+ generated, .*)$", result.stdout, re.MULTILINE)
            if result.returncode != 0:
                print(result.stdout, flush=True)
                failures.append(f"{backend}/{role}: schemathesis exit {result.returncode}")
            elif args.verbose:
                print(result.stdout, flush=True)
            print(
                f"    {backend}/{role}: {tested.group(1) if tested else '?'} operations, "
                f"{cases.group(1) if cases else 'no cases'}, {elapsed:.0f}s, exit {result.returncode}",
                flush=True,
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # Panics (the vote writer's too) and the service's own 5xx lines. actix's
    # own ERROR lines about requests it could not parse are the client's doing.
    server_errors = []
    for line in stderr.read_text().splitlines():
        if "panicked" in line or ('"level":"ERROR"' in line and '"target":"actix_http' not in line):
            server_errors.append(line[:2000])
    if server_errors:
        print(f"--- {backend}: the server logged {len(server_errors)} errors:", *server_errors[:20], sep="\n")
        failures.append(f"{backend}: the server logged panics or 5xx errors")
    return failures


def postgres_database(server: str) -> tuple[str, str]:
    name = f"awards_fuzz_{os.getpid()}_{secrets.token_hex(4)}"
    subprocess.run(["psql", f"{server}/postgres", "-qAtc", f"CREATE DATABASE {name}"], check=True)
    return name, f"{server}/{name}"


def drop_postgres(server: str, name: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-qAtc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the awards binary")
    parser.add_argument("--st", required=True, help="the schemathesis CLI")
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgres"),
                        help="repeatable; default sqlite, plus postgres when --postgres-url is set")
    parser.add_argument("--postgres-url", default=os.environ.get("AWARDS_TEST_POSTGRES_URL", ""),
                        help="server URL without a database, e.g. postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=ROLES)
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation and phase")
    parser.add_argument("--max-time", type=int, default=0,
                        help="seconds per role that fuzzing fills, repeating until spent (0: off, stop at --max-examples)")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per role before the run counts as failed")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--keep", action="store_true", help="keep the work directory and print it")
    parser.add_argument("-v", "--verbose", action="store_true", help="print schemathesis' full report")
    args = parser.parse_args()
    # Admin last: an admin may disable or reset the accounts the others use.
    args.roles = [r for r in ROLES if r in args.roles]
    backends = args.backend or (["sqlite", "postgres"] if args.postgres_url else ["sqlite"])

    started = time.monotonic()
    failures: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="awards-fuzz-"))
    try:
        for backend in backends:
            if backend == "sqlite":
                failures += run_backend(args, backend, f"sqlite://{work / 'fuzz.db'}", work)
            else:
                server = args.postgres_url.rstrip("/")
                if not server:
                    parser.error("--backend postgres needs --postgres-url or AWARDS_TEST_POSTGRES_URL")
                name, url = postgres_database(server)
                try:
                    failures += run_backend(args, backend, url, work)
                finally:
                    drop_postgres(server, name)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"schemathesis: {len(failures)} failure(s) in {time.monotonic() - started:.0f}s")
    for f in failures:
        print(f"  {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
