#!/usr/bin/env python3
"""The web console at real scale: 300,000 employees, 3,000 nominations, a
reviewer's queue of 200 entries. Each page under 16 concurrent clients (wrk,
signed in by the console's own cookie) against /healthz in the same run, and
the bytes a first and a later visit cost.

    python3 bench/console.py [--backends sqlite,postgres] [--employees 300000] [--seconds 5]

Targets (issue "Web console, part 1"): server time p50 <= 10 ms and p99 <= 50
ms at 16 clients, the queue of 200 <= 20 ms, a first visit <= 150 KB and a
later one <= 20 KB compressed.
"""

import argparse
import gzip
import http.client
import os
import re
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foundation as f  # noqa: E402

CONNECTIONS = 16
PER_BRANCH = 15  # 200 branches × 15 = 3,000 nominations
REVIEWERS = 15  # 3,000 entries, one review each: 200 per reviewer


def conn():
    return http.client.HTTPConnection("127.0.0.1", f.PORT, timeout=60)


def console_sign_in(employee_no):
    """Signs in through the console's form; returns the session cookie."""
    c = conn()
    body = urllib.parse.urlencode({"employee_no": employee_no, "password": f.PASSWORD})
    c.request("POST", "/console/login", body, {"content-type": "application/x-www-form-urlencoded",
                                               "origin": f.BASE})
    res = c.getresponse()
    res.read()
    assert res.status == 303, res.status
    cookie = res.getheader("set-cookie").split(";")[0]
    return cookie


def fetch(path, cookie=None, encoding="gzip"):
    c = conn()
    headers = {"accept-encoding": encoding}
    if cookie:
        headers["cookie"] = cookie
    c.request("GET", path, headers=headers)
    res = c.getresponse()
    body = res.read()
    assert res.status == 200, (path, res.status, body[:300])
    return body, res.getheader("content-encoding")


def page_weight(path, cookie):
    """Bytes on the wire for a first visit (page and every asset it links)
    and a later one (the page only: assets are cached as immutable)."""
    page, encoding = fetch(path, cookie)
    html = gzip.decompress(page) if encoding == "gzip" else page
    assets = re.findall(rb'/console/assets/[^"]+', html)
    first = len(page) + sum(len(fetch(a.decode())[0]) for a in assets)
    return first, len(page)


def percentile_ms(raw, label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", raw)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]


def activate(token, employee_no, name, branch_id, roles):
    user = f.request("POST", "/api/v1/users", token, {"employee_no": employee_no, "name": name, "branch_id": branch_id, "roles": roles})
    f.request("POST", "/api/v1/auth/activate", body={"employee_no": employee_no, "activation_code": user["activation_code"], "new_password": f.PASSWORD})
    return user["id"]


def run_backend(backend, args, workdir):
    env, _, cleanup = f.database_env(backend, workdir)
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWARDS_")})
    rows = []
    try:
        with f.Server(env, workdir, backend) as server:
            token = server.admin_token()
            f.staffed_org(token, env, workdir, args.employees, backend)
            users = [u for u in f.all_users(token) if u["employee_no"].startswith("E")]
            cid = f.nominating_campaign(token, PER_BRANCH, winners_target=310)
            by_branch = {}
            for u in users:
                by_branch.setdefault(u["branch_id"], []).append(u)
            for branch_users in by_branch.values():
                for u in branch_users[:PER_BRANCH]:
                    n = f.request("POST", f"/api/v1/campaigns/{cid}/nominations", token, {
                        "nominee_id": u["id"], "title": "守护客户的钱袋子", "summary": "识破电信诈骗，挽回损失。" * 5,
                        "story": "她在柜台前坚持了三个小时，劝阻客户转账。" * 40})
                    f.request("POST", f"/api/v1/nominations/{n['id']}/submit", token, {})
            branch = next(iter(by_branch))
            activate(token, "BENCH-M", "基准测试推荐人", branch, ["manager"])
            manager = console_sign_in("BENCH-M")
            reviewers = [activate(token, f"BENCH-R{i}", f"评审专家{i}", None, ["reviewer"]) for i in range(REVIEWERS)]
            # The queue first, while the campaign still nominates.
            manager_pages = [("home (manager)", "/console/"), ("campaign: window, quota, 15 nominations", f"/console/campaigns/{cid}"),
                             ("nomination form", f"/console/campaigns/{cid}/nominations/new"),
                             ("nominee search, 20 of the branch's staff", f"/console/campaigns/{cid}/staff?q=" + urllib.parse.quote(users[0]["name"][0]))]
            results = {"healthz": f.wrk(f.BASE + "/healthz", args.seconds, connections=CONNECTIONS)}
            for name, path in manager_pages:
                results[name] = (path, manager, f.wrk(f.BASE + path, args.seconds, connections=CONNECTIONS, headers=[f"Cookie: {manager}"]))
            f.request("PATCH", f"/api/v1/campaigns/{cid}", token, {"status": "screening"})
            criteria = [{"name": "事迹真实性", "weight": 0.5, "max_score": 10}, {"name": "客户影响", "weight": 0.3, "max_score": 10}, {"name": "示范意义", "weight": 0.2, "max_score": 5}]
            rid = f.request("POST", f"/api/v1/campaigns/{cid}/rounds", token, {"name": "集团初评", "reviews_per_entry": 1, "criteria": criteria, "advance": {"rule": "top_n", "n": 310}})["id"]
            f.request("POST", f"/api/v1/rounds/{rid}/reviewers", token, {"user_ids": reviewers})
            f.request("POST", f"/api/v1/rounds/{rid}/open", token, {})
            f.request("POST", f"/api/v1/rounds/{rid}/assignments", token, {"seed": 1})
            reviewer = console_sign_in("BENCH-R0")
            mine = f.request("GET", f"/api/v1/rounds/{rid}/assignments/mine?per_page=500",
                             f.request("POST", "/api/v1/auth/login", body={"employee_no": "BENCH-R0", "password": f.PASSWORD})["access_token"])
            first_entry = mine["items"][0]["nomination_id"]
            reviewer_pages = [("home (reviewer)", "/console/"), (f"reviewer's queue of {mine['total']}", f"/console/rounds/{rid}"),
                              ("review entry: dossier and rubric", f"/console/rounds/{rid}/entries/{first_entry}")]
            for name, path in reviewer_pages:
                results[name] = (path, reviewer, f.wrk(f.BASE + path, args.seconds, connections=CONNECTIONS, headers=[f"Cookie: {reviewer}"]))
            results["sign-in page"] = ("/console/login", None, f.wrk(f.BASE + "/console/login", args.seconds, connections=CONNECTIONS))
            h = results.pop("healthz")
            rows.append((backend, f"GET /healthz (wrk -t2 -c{CONNECTIONS})", f"{h['rps']:,.0f} req/s, p50 {percentile_ms(h['raw'], '50%'):.2f} ms, p99 {h['p99_ms']:.2f} ms", "baseline"))
            for name, (path, cookie, r) in results.items():
                first, later = page_weight(path, cookie)
                p50 = percentile_ms(r["raw"], "50%")
                rows.append((backend, f"{name} (wrk -t2 -c{CONNECTIONS})",
                             f"{r['rps']:,.0f} req/s ({r['rps'] / h['rps']:.2f} × healthz), p50 {p50:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                             f"non-2xx {r['non2xx']}; first visit {first / 1024:.1f} KB, later {later / 1024:.1f} KB",
                             "p50 ≤ 10 ms, p99 ≤ 50 ms" + (", p50 ≤ 20 ms" if "queue" in name else "")))
    finally:
        cleanup()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=300_000)
    args = f.prepare(parser)
    table = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            table += run_backend(backend, args, workdir)
    f.print_table(table)


if __name__ == "__main__":
    main()
