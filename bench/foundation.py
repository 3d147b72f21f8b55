#!/usr/bin/env python3
"""Foundation benchmarks (issue 2), each next to its baseline in the same run.

- import of N employees from CSV (CLI, and the HTTP import), time and peak RSS
- login throughput vs. the raw argon2id verify rate (benches/argon2_verify.rs)
- authenticated GET /api/v1/me vs. GET /healthz, same wrk settings
- a burst of 2,000 concurrent logins: every answer within 5 s, server peak RSS

Usage: python3 bench/foundation.py [--backends sqlite,postgres] [--employees 300000] [--seconds 10]
Needs wrk (apt-get install wrk) and, for PostgreSQL, a server at
AWARDS_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
"""

import argparse
import asyncio
import csv
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# AWARDS_BENCH_BIN runs another build (e.g. an older commit's) instead of a fresh release build.
BIN = os.environ.get("AWARDS_BENCH_BIN") or os.path.join(ROOT, "target", "release", "awards")
PORT = 18300
BASE = f"http://127.0.0.1:{PORT}"
SECRET = "bench-secret-bench-secret-bench-secret-42"
PASSWORD = "bench password 123"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲兰凤洁梅琳素云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"


def request(method, path, token=None, body=None, content_type="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["content-type"] = content_type
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=600) as res:
        return json.loads(res.read() or b"null")


def wait_ready(proc, log_path):
    for _ in range(200):
        if proc.poll() is not None:
            with open(log_path) as f:
                raise SystemExit(f"server exited: {f.read()}")
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url, seconds, connections=32, headers=(), script=None):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "requests": requests, "p99_ms": p99_ms, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else "none", "raw": out}


async def one_login(body):
    start = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(
            (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\ncontent-type: application/json\r\n"
             f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        headers = b""
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            headers += line
        writer.close()
        status = int(status_line.split()[1])
        retry_after = b"retry-after" in headers.lower()
        return status, time.monotonic() - start, retry_after
    except Exception as e:  # noqa: BLE001 - a failure is a result here
        return f"error: {e}", time.monotonic() - start, False


async def login_burst(n, employee_nos):
    """n sign-ins at once, round robin over one account number or a list of them."""
    if isinstance(employee_nos, str):
        employee_nos = [employee_nos]
    bodies = [json.dumps({"employee_no": no, "password": PASSWORD}).encode() for no in employee_nos]
    return await asyncio.gather(*(one_login(bodies[i % len(bodies)]) for i in range(n)))


def make_csv(path, n, branch_codes, seed=7):
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["employee_no", "name", "branch_code"])
        for i in range(n):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            w.writerow([f"E{i:07d}", name, branch_codes[i % len(branch_codes)]])


def timed(cmd, env):
    start = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    rss_mib = int(out.stderr.strip().splitlines()[-1]) / 1024
    return time.monotonic() - start, rss_mib, out.stdout.strip()


def database_env(backend, workdir):
    """The server's environment for a fresh database; returns (env, url, cleanup)."""
    env = dict(os.environ, AWARDS_JWT_SECRET=SECRET, AWARDS_BIND=f"127.0.0.1:{PORT}", AWARDS_LOG="warn")
    if backend == "sqlite":
        url = f"sqlite://{workdir}/bench-{backend}-{time.monotonic_ns()}.db"
        cleanup = lambda: None  # noqa: E731 - the temporary directory goes away
    else:
        server = os.environ.get("AWARDS_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
        name = f"awards_bench_{os.getpid()}_{time.monotonic_ns()}"
        subprocess.run(["psql", f"{server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        url = f"{server}/{name}"
        cleanup = lambda: subprocess.run(["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])  # noqa: E731
    env["AWARDS_DATABASE_URL"] = url
    return env, url, cleanup


class Server:
    """`awards serve` in the background, for a `with` block."""

    def __init__(self, env, workdir, name):
        # Files, not pipes: a full pipe would stall the server when it logs.
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.env = env

    def __enter__(self):
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=out, stderr=log)
        wait_ready(self.proc, self.log_path)
        return self

    def __exit__(self, *_):
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def admin_token(self):
        with open(self.out_path) as out:
            password = re.search(r"^\s+password:\s+(\S+)", out.read(), re.M).group(1)
        return request("POST", "/api/v1/auth/login", body={"employee_no": "admin", "password": password})["access_token"]


def create_org(token):
    """13 member companies and 200 branches; returns the branch codes."""
    codes = []
    for c in range(13):
        company = request("POST", "/api/v1/member-companies", token, {"code": f"MC{c:02d}", "name": f"成员公司{c + 1}"})
        for b in range(200 // 13 + (1 if c < 200 % 13 else 0)):
            code = f"BR{c:02d}{b:02d}"
            request("POST", "/api/v1/branches", token, {"code": code, "name": f"{company['name']}第{b + 1}分行", "member_company_id": company["id"]})
            codes.append(code)
    return codes


def staffed_org(token, env, workdir, employees, tag):
    """The 13 companies and 200 branches, and `employees` imported by the CLI.
    Returns (the branch codes, the staff CSV, the activation codes CSV,
    the import's (seconds, peak RSS MiB, summary))."""
    branches = create_org(token)
    staff = os.path.join(workdir, f"staff-{tag}.csv")
    make_csv(staff, employees, branches)
    codes_out = os.path.join(workdir, f"codes-{tag}.csv")
    return branches, staff, codes_out, timed([BIN, "import-employees", staff, "--codes-out", codes_out], env)


def all_users(token):
    """Every account, page by page."""
    users, page = [], 1
    while True:
        out = request("GET", f"/api/v1/users?per_page=500&page={page}", token)
        users += out["items"]
        if page * 500 >= out["total"]:
            return users
        page += 1


def nominating_campaign(token, per_branch, **settings):
    """A campaign open for nominations (since an hour ago, for a day); its id."""
    now = datetime.now(timezone.utc)
    campaign = request("POST", "/api/v1/campaigns", token, {
        "name": "2026 最美消保人", "nominations_per_branch": per_branch,
        "nomination_opens_at": (now - timedelta(hours=1)).isoformat(),
        "nomination_closes_at": (now + timedelta(days=1)).isoformat(), **settings})
    request("PATCH", f"/api/v1/campaigns/{campaign['id']}", token, {"status": "nominating"})
    return campaign["id"]


def run_backend(backend, args, workdir, argon_rate):
    env, _, cleanup = database_env(backend, workdir)
    results = {}
    with Server(env, workdir, backend) as server:
        token = server.admin_token()
        _, staff, codes_out, (secs, rss, summary) = staffed_org(token, env, workdir, args.employees, backend)
        results["import_cli"] = {"seconds": secs, "rss_mib": rss, "summary": summary}
        # The same file again over HTTP: every row is now an unchanged re-import.
        with open(staff, "rb") as f:
            data = f.read()
        start = time.monotonic()
        report = request("POST", "/api/v1/imports/employees", token, data, content_type="text/csv")
        results["reimport_http"] = {"seconds": time.monotonic() - start, "unchanged": report["unchanged"]}
        with open(codes_out) as f:
            first_code = list(csv.DictReader(f))[0]
        user = request("POST", "/api/v1/auth/activate", body={"employee_no": first_code["employee_no"], "activation_code": first_code["activation_code"], "new_password": PASSWORD})
        user_token = user["access_token"]

        results["healthz"] = wrk(BASE + "/healthz", args.seconds)
        results["me"] = wrk(BASE + "/api/v1/me", args.seconds, headers=[f"Authorization: Bearer {user_token}"])
        script = os.path.join(workdir, "login.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f'wrk.body = \'{json.dumps({"employee_no": first_code["employee_no"], "password": PASSWORD})}\'\n')
        results["login"] = wrk(BASE + "/api/v1/auth/login", args.seconds, connections=16, script=script)
        results["login"]["vs_argon2"] = results["login"]["rps"] / argon_rate

        answers = asyncio.run(login_burst(2000, first_code["employee_no"]))
        statuses = {}
        for status, _, _ in answers:
            statuses[status] = statuses.get(status, 0) + 1
        slowest = max(t for _, t, _ in answers)
        throttled_without_retry = sum(1 for s, _, r in answers if s in (429, 503) and not r)
        results["burst"] = {"statuses": statuses, "slowest_s": slowest, "rss_mib": peak_rss_mib(server.proc.pid),
                            "throttled_without_retry_after": throttled_without_retry}
    cleanup()
    return results


def prepare(parser=None, employees=300_000):
    """Command line, file limit, wrk and a fresh release build: what every benchmark needs."""
    if parser is None:
        parser = argparse.ArgumentParser()
        parser.add_argument("--employees", type=int, default=employees)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    if not os.environ.get("AWARDS_BENCH_BIN"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return args


def argon2_rate(seconds):
    """Raw argon2id verifications per second on one core (benches/argon2_verify.rs)."""
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "argon2_verify"], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, BENCH_SECS=str(seconds)), check=True).stdout
    print(out.strip(), file=sys.stderr)
    return float(re.search(r"([\d.]+)/s", out).group(1))


def rows(backend, r, employees, argon_rate):
    """The table rows for one backend's run."""
    return [
        (backend, f"import {employees:,} employees (CLI)", f"{r['import_cli']['seconds']:.1f} s, peak RSS {r['import_cli']['rss_mib']:.0f} MiB", "< 60 s"),
        (backend, f"re-import {employees:,} unchanged (HTTP)", f"{r['reimport_http']['seconds']:.1f} s", ""),
        (backend, "GET /healthz (wrk -t2 -c32)", f"{r['healthz']['rps']:,.0f} req/s, p99 {r['healthz']['p99_ms']:.2f} ms", "baseline"),
        (backend, "GET /api/v1/me (wrk -t2 -c32)", f"{r['me']['rps']:,.0f} req/s, p99 {r['me']['p99_ms']:.2f} ms, {r['me']['rps'] / r['healthz']['rps']:.2f} × healthz", "≥ 0.5 × healthz"),
        (backend, "raw argon2id verify (benches/argon2_verify.rs)", f"{argon_rate:.1f}/s", "baseline"),
        (backend, "POST /api/v1/auth/login (wrk -t2 -c16)", f"{r['login']['rps']:.1f} req/s, {r['login']['vs_argon2']:.2f} × raw argon2", "≥ 0.9 × argon2"),
        (backend, "2,000 concurrent logins", f"slowest {r['burst']['slowest_s']:.2f} s, statuses {r['burst']['statuses']}, server peak RSS {r['burst']['rss_mib']:.0f} MiB", "all < 5 s, RSS < 512 MiB"),
    ]


def print_table(table):
    print(markdown_table(table))


def markdown_table(table):
    lines = ["| backend | measure | result | target |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def main():
    args = prepare()
    argon_rate = argon2_rate(args.seconds)
    table = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            r = run_backend(backend, args, workdir, argon_rate)
            print(json.dumps({backend: r}, ensure_ascii=False, indent=1), file=sys.stderr)
            table += rows(backend, r, args.employees, argon_rate)
    print_table(table)


if __name__ == "__main__":
    main()
