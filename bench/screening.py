#!/usr/bin/env python3
"""Round-closing benchmark (issue 4).

Builds, over HTTP, a round of 3,000 entries (200 branches x 15 nominations),
65 reviewers, 5 reviews per entry and 5 criteria (15,000 reviews), with
z-score normalisation and a trimmed mean, cutting to 310; then times
POST /rounds/{id}/close (target < 1 s), and beside it the preview and the
recount, which load and score the same inputs without writing (5 runs each,
median). Closing can only happen once per round, so run the script several
times for a median of the close itself.

Usage: python3 bench/screening.py [--backends sqlite,postgres]
"""

import concurrent.futures
import csv
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foundation as f  # noqa: E402

QUOTA = 15
REVIEWERS_PER_COMPANY = 5
REVIEWS_PER_ENTRY = 5
CRITERIA = [("事迹真实性", 0.3, 10), ("客户影响", 0.25, 10), ("创新性", 0.15, 10), ("示范意义", 0.15, 10), ("团队协作", 0.15, 10)]


def timed_call(method, path, token, body=None):
    start = time.monotonic()
    out = f.request(method, path, token, body)
    return time.monotonic() - start, out


def run_backend(backend, workdir):
    env, _, cleanup = f.database_env(backend, workdir)
    with f.Server(env, workdir, backend) as server:
        token = server.admin_token()
        codes = f.create_org(token)
        staff = os.path.join(workdir, f"staff-{backend}.csv")
        with open(staff, "w", newline="", encoding="utf-8") as out:
            w = csv.writer(out)
            w.writerow(["employee_no", "name", "branch_code", "roles"])
            for b, code in enumerate(codes):
                for k in range(QUOTA):
                    w.writerow([f"N{b:03d}{k:02d}", f"员工{b}-{k}", code, "employee"])
            for r in range(13 * REVIEWERS_PER_COMPANY):
                w.writerow([f"R{r:03d}", f"评委{r}", codes[(r * 3) % len(codes)], "employee;reviewer"])
        codes_out = os.path.join(workdir, f"codes-{backend}.csv")
        f.timed([f.BIN, "import-employees", staff, "--codes-out", codes_out], env)
        with open(codes_out, encoding="utf-8") as inp:
            activation = {row["employee_no"]: row["activation_code"] for row in csv.DictReader(inp)}

        ids = {u["employee_no"]: u["id"] for u in f.all_users(token)}

        def activate(no):
            out = f.request("POST", "/api/v1/auth/activate", None,
                            {"employee_no": no, "activation_code": activation[no], "new_password": f.PASSWORD})
            return no, out["access_token"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            reviewer_tokens = dict(pool.map(activate, [no for no in activation if no.startswith("R")]))

        cid = f.nominating_campaign(token, QUOTA, winners_target=310)

        def nominate(no):
            n = f.request("POST", f"/api/v1/campaigns/{cid}/nominations", token, {
                "nominee_id": ids[no], "title": "守护客户的钱袋子", "summary": "识破电信诈骗，挽回损失。",
                "story": "她在柜台前坚持了三个小时。" * 20})
            f.request("POST", f"/api/v1/nominations/{n['id']}/submit", token, {})

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(nominate, [no for no in ids if no.startswith("N")]))
        nominate_s = time.monotonic() - start
        f.request("PATCH", f"/api/v1/campaigns/{cid}", token, {"status": "screening"})
        round_ = f.request("POST", f"/api/v1/campaigns/{cid}/rounds", token, {
            "name": "集团评审", "scope": "group", "conflict_scope": "branch", "reviews_per_entry": REVIEWS_PER_ENTRY,
            "criteria": [{"name": n, "weight": w, "max_score": m} for n, w, m in CRITERIA],
            "normalization": "zscore", "aggregate": "trimmed_mean", "advance": {"rule": "top_n", "n": 310}})
        rid = round_["id"]
        criteria = [c["id"] for c in round_["criteria"]]
        f.request("POST", f"/api/v1/rounds/{rid}/reviewers", token, {"user_ids": [ids[no] for no in reviewer_tokens]})
        open_s, opened = timed_call("POST", f"/api/v1/rounds/{rid}/open", token, {})
        assign_s, report = timed_call("POST", f"/api/v1/rounds/{rid}/assignments", token, {"seed": 2026})
        assert not report["shortfalls"], report["shortfalls"][:3]

        def review_all(no):
            t = reviewer_tokens[no]
            done, page = 0, 1
            while True:
                mine = f.request("GET", f"/api/v1/rounds/{rid}/assignments/mine?per_page=500&page={page}", t)
                for a in mine["items"]:
                    nid = a["nomination_id"]
                    scores = {str(c): float((nid * 7 + ids[no] * 3 + i * 5) % 11) for i, c in enumerate(criteria)}
                    f.request("PUT", f"/api/v1/rounds/{rid}/entries/{nid}/review", t, {"scores": scores})
                    done += 1
                if page * 500 >= mine["total"]:
                    return done
                page += 1

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            reviews = sum(pool.map(review_all, list(reviewer_tokens)))
        review_s = time.monotonic() - start

        preview = [timed_call("GET", f"/api/v1/rounds/{rid}/preview?per_page=50", token)[0] for _ in range(5)]
        close_s, closed = timed_call("POST", f"/api/v1/rounds/{rid}/close", token, {})
        recount = []
        for _ in range(5):
            secs, out = timed_call("GET", f"/api/v1/rounds/{rid}/recount", token)
            assert out["ok"], out
            recount.append(secs)
        winners = f.request("GET", f"/api/v1/campaigns/{cid}/winners", token)
        assert winners["total"] == 310, winners["total"]
    cleanup()
    return {"entries": opened["entries"], "reviews": reviews, "assignments": report["total"], "nominate_s": nominate_s,
            "open_s": open_s, "assign_s": assign_s, "review_s": review_s, "preview_s": statistics.median(preview),
            "close_s": close_s, "recount_s": statistics.median(recount), "hash": closed["result_hash"]}


def rows(backend, r):
    """The table rows for one backend's run."""
    shape = f"{r['entries']:,} entries × {REVIEWS_PER_ENTRY} reviews × {len(CRITERIA)} criteria"
    return [
        (backend, f"POST /rounds/{{id}}/close, {shape}", f"{r['close_s'] * 1000:,.0f} ms", "< 1 s"),
        (backend, "GET /rounds/{id}/preview, same round (median of 5)", f"{r['preview_s'] * 1000:,.0f} ms", ""),
        (backend, "GET /rounds/{id}/recount after close (median of 5)", f"{r['recount_s'] * 1000:,.0f} ms", ""),
        (backend, f"POST /rounds/{{id}}/open ({r['entries']:,} entries)", f"{r['open_s'] * 1000:,.0f} ms", ""),
        (backend, f"POST /rounds/{{id}}/assignments ({r['assignments']:,} assignments)", f"{r['assign_s'] * 1000:,.0f} ms", ""),
        (backend, f"{r['reviews']:,} review PUTs over HTTP (8 clients)", f"{r['review_s']:.1f} s, {r['reviews'] / r['review_s']:,.0f}/s", ""),
    ]


def main():
    args = f.prepare()
    table = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            r = run_backend(backend, workdir)
            print(r, file=sys.stderr)
            table += rows(backend, r)
    f.print_table(table)


if __name__ == "__main__":
    main()
