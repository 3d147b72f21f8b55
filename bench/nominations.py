#!/usr/bin/env python3
"""Nomination listing benchmark (issue 3).

With 200 branches x 5 submitted nominations and N employees (300,000 by
default) in the database, admins list nominations filtered and paged while 16
clients hammer the endpoint; the target is p99 < 50 ms on SQLite. /healthz
under the same wrk settings is measured in the same run as the baseline.

Usage: python3 bench/nominations.py [--backends sqlite,postgres] [--employees 300000] [--seconds 10]
"""

import concurrent.futures
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foundation as f  # noqa: E402

LISTING_SCRIPT = """
local queries = {}
for company = 1, 13 do
  table.insert(queries, "/api/v1/campaigns/1/nominations?member_company_id=" .. company .. "&status=submitted&per_page=50")
  table.insert(queries, "/api/v1/campaigns/1/nominations?member_company_id=" .. company .. "&q=%E7%8E%8B&sort=-submitted_at")
end
for page = 1, 20 do
  table.insert(queries, "/api/v1/campaigns/1/nominations?status=submitted&sort=nominee_name&per_page=50&page=" .. page)
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", queries[(i % #queries) + 1])
end
"""


def run_backend(backend, args, workdir):
    env, url, cleanup = f.database_env(backend, workdir)
    with f.Server(env, workdir, backend) as server:
        token = server.admin_token()
        codes, _, _, (secs, _, _) = f.staffed_org(token, env, workdir, args.employees, backend)
        campaign_id = f.nominating_campaign(token, 5)
        # Five nominees per branch: employees are spread round-robin over the branches.
        nominees = []
        users = f.request("GET", "/api/v1/users?per_page=500&page=1", token)
        first_id = min(u["id"] for u in users["items"] if u["employee_no"].startswith("E"))
        for b in range(len(codes)):
            nominees += [first_id + b + k * len(codes) for k in range(5)]

        def nominate(nominee):
            n = f.request("POST", f"/api/v1/campaigns/{campaign_id}/nominations", token, {
                "nominee_id": nominee, "title": "守护客户的钱袋子", "summary": "识破电信诈骗，挽回损失。",
                "story": "她在柜台前坚持了三个小时。" * 20})
            f.request("POST", f"/api/v1/nominations/{n['id']}/submit", token, {})

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(nominate, nominees))
        setup = time.monotonic() - start
        script = os.path.join(workdir, "listing.lua")
        with open(script, "w") as out:
            out.write(LISTING_SCRIPT)
        healthz = f.wrk(f.BASE + "/healthz", args.seconds, connections=16)
        listing = f.wrk(f.BASE + "/", args.seconds, connections=16, headers=[f"Authorization: Bearer {token}"], script=script)
    cleanup()
    return {"import_s": secs, "nominate_submit_s": setup, "nominations": len(nominees), "healthz": healthz, "listing": listing}


def main():
    args = f.prepare()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            r = run_backend(backend, args, workdir)
            print(r, file=sys.stderr)
            rows += [
                (backend, "GET /healthz (wrk -t2 -c16)", f"{r['healthz']['rps']:,.0f} req/s, p99 {r['healthz']['p99_ms']:.2f} ms", "baseline"),
                (backend, f"filtered, paged nomination listing ({r['nominations']} nominations, {args.employees:,} employees; wrk -t2 -c16)",
                 f"{r['listing']['rps']:,.0f} req/s, p99 {r['listing']['p99_ms']:.2f} ms, non-2xx {r['listing']['non2xx']}", "p99 < 50 ms"),
                (backend, f"{r['nominations']} nominations created and submitted over HTTP (8 clients)", f"{r['nominate_submit_s']:.1f} s", ""),
            ]
    print("\n| backend | measure | result | target |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
