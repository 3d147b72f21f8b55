#!/usr/bin/env python3
"""Vote storm benchmark (issue 5).

A vote round over 400 entries (200 branches x 2 submitted nominations),
5 votes per voter, and N voters (50,000 by default) imported by the CLI.
Client apps hold access tokens; here they are minted with the bench's own
signing key (the same HS256 the service issues). wrk then sends distinct
votes (every request a new voter/entry pair) on loopback, and /healthz is
measured with the same settings in the same run. Afterwards the round is
closed and the tally compared with the number of 201 answers: every
acknowledged vote must be counted. On PostgreSQL the baseline is pgbench
inserting single rows into a two-column table on the same server.

Usage: python3 bench/voting.py [--backends sqlite,postgres] [--employees 50000] [--seconds 10]
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foundation as f  # noqa: E402

VOTES_PER_VOTER = 5
PER_BRANCH = 2
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))

# The voters' tokens, and each wrk thread's number (1, 2, ...) as `id`: a
# thread takes voters id - 1, id - 1 + threads, and so on.
VOTERS_PRELUDE = r"""
local tokens = {}
for line in io.lines("%(tokens)s") do table.insert(tokens, line) end
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
"""

VOTE_SCRIPT = VOTERS_PRELUDE + r"""
-- The requests are cheap to make: wrk shares the two cores with the service,
-- so each voter's request head is built once, and no response() callback
-- makes wrk hand every answer to Lua (the summary counts the non-2xx ones).
local entries = {}
for line in io.lines("%(entries)s") do table.insert(entries, tonumber(line)) end
function init(args)
  k = id - 1
  step = %(threads)d
  heads = {}
  for i, token in ipairs(tokens) do
    heads[i] = "POST /api/v1/rounds/%(round)d/votes HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port ..
      "\r\nAuthorization: Bearer " .. token .. "\r\nContent-Type: application/json\r\nContent-Length: "
  end
end
request = function()
  -- Round robin over the voters: one person's votes are far apart, as when
  -- each taps through the app at their own pace (their votes never wait on
  -- each other's ballot row).
  local voter = k %% #tokens
  local vote_no = math.floor(k / #tokens) %% %(votes)d
  local entry = entries[((voter * 7 + vote_no) %% #entries) + 1]
  k = k + step
  local body = '{"nomination_id":' .. entry .. '}'
  return heads[voter + 1] .. #body .. "\r\n\r\n" .. body
end
done = function(summary, latency, requests)
  local refused = summary.errors.status
  io.write(string.format("VOTES created=%%d other=%%d\n", summary.requests - refused, refused))
end
"""


# The warm-up: GET /me once as every voter (each wrk thread takes every
# other one), then stop, so that every account is in the node's account
# cache when the storm starts, as when each voter opened the app first.
WARM_SCRIPT = VOTERS_PRELUDE + r"""
function init(args)
  k = id - 1
  step = %(threads)d
  share = math.ceil((#tokens - k) / step)
  answered = 0
end
request = function()
  if k >= #tokens then return wrk.format("GET", "/healthz") end
  local token = tokens[k + 1]
  k = k + step
  return wrk.format("GET", "/api/v1/me", {["Authorization"] = "Bearer " .. token})
end
response = function(status, headers, body)
  answered = answered + 1
  if answered >= share then wrk.thread:stop() end
end
"""


# GET a path as each voter in turn (the ballot read).
AS_VOTERS_SCRIPT = VOTERS_PRELUDE + r"""
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "%(path)s", {["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1]})
end
"""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(user_id, branch):
    now = int(time.time())
    header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    claims = b64(json.dumps({"sub": str(user_id), "roles": ["employee"], "branch": branch, "iat": now,
                             "exp": now + 3600, "jti": os.urandom(8).hex(), "tv": 0}).encode())
    signature = b64(hmac.new(f.SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest())
    return f"{header}.{claims}.{signature}"


def pgbench_insert(server_url, seconds, workdir):
    name = f"awards_pgbench_{os.getpid()}"
    subprocess.run(["psql", f"{server_url}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run(["psql", f"{server_url}/{name}", "-qc", "CREATE TABLE t (a BIGINT, b TIMESTAMP)"], check=True)
        script = os.path.join(workdir, "insert.sql")
        with open(script, "w") as out:
            out.write("INSERT INTO t (a, b) VALUES (:client_id, now());\n")
        out = subprocess.run(["pgbench", "-n", "-c", "16", "-j", "2", "-T", str(seconds), "-f", script, f"{server_url}/{name}"],
                             capture_output=True, text=True, check=True).stdout
        return float(re.search(r"tps = ([\d.]+)", out).group(1))
    finally:
        subprocess.run(["psql", f"{server_url}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])


def run_backend(backend, args, workdir):
    env, url, cleanup = f.database_env(backend, workdir)
    # Generous limits: every request comes from 127.0.0.1.
    env.update(AWARDS_VOTE_RATE_IP="10000000", AWARDS_VOTE_RATE_ACCOUNT="600")
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWARDS_")})
    with f.Server(env, workdir, backend) as server:
        token = server.admin_token()
        f.staffed_org(token, env, workdir, args.employees, backend)
        users = [u for u in f.all_users(token) if u["employee_no"].startswith("E")]
        cid = f.nominating_campaign(token, PER_BRANCH, winners_target=310)
        by_branch = {}
        for u in users:
            by_branch.setdefault(u["branch_id"], []).append(u)
        nominees = set()
        for branch_users in by_branch.values():
            for u in branch_users[:PER_BRANCH]:
                n = f.request("POST", f"/api/v1/campaigns/{cid}/nominations", token, {
                    "nominee_id": u["id"], "title": "守护客户的钱袋子", "summary": "识破电信诈骗，挽回损失。", "story": "她在柜台前坚持了三个小时。"})
                f.request("POST", f"/api/v1/nominations/{n['id']}/submit", token, {})
                nominees.add(u["id"])
        f.request("PATCH", f"/api/v1/campaigns/{cid}", token, {"status": "screening"})
        round_ = f.request("POST", f"/api/v1/campaigns/{cid}/rounds", token, {
            "name": "员工投票", "kind": "vote", "votes_per_voter": VOTES_PER_VOTER, "advance": {"rule": "top_n", "n": 310}})
        rid = round_["id"]
        opened = f.request("POST", f"/api/v1/rounds/{rid}/open", token, {})
        entries = [c["nomination_id"] for c in f.request("GET", f"/api/v1/rounds/{rid}/ballot?per_page=500", token)["candidates"]["items"]]
        assert len(entries) == opened["entries"], (len(entries), opened["entries"])
        tokens_path = os.path.join(workdir, f"tokens-{backend}.txt")
        entries_path = os.path.join(workdir, f"entries-{backend}.txt")
        with open(tokens_path, "w") as out:
            for u in users:
                if u["id"] not in nominees:  # nobody votes for themselves; simplest to leave nominees out
                    out.write(mint(u["id"], u["branch_id"]) + "\n")
        with open(entries_path, "w") as out:
            out.write("\n".join(map(str, entries)) + "\n")
        script = os.path.join(workdir, f"vote-{backend}.lua")
        with open(script, "w") as out:
            out.write(VOTE_SCRIPT % {"tokens": tokens_path, "entries": entries_path, "round": rid,
                                     "threads": 2, "votes": VOTES_PER_VOTER})
        # Apps open before they vote: one GET /me per voter puts every account
        # in the node's account cache, as the ballot read would.
        warm = os.path.join(workdir, f"warm-{backend}.lua")
        with open(warm, "w") as out:
            out.write(WARM_SCRIPT % {"tokens": tokens_path, "threads": 2})
        ballot_script = os.path.join(workdir, f"ballot-{backend}.lua")
        with open(ballot_script, "w") as out:
            out.write(AS_VOTERS_SCRIPT % {"tokens": tokens_path, "path": f"/api/v1/rounds/{rid}/ballot"})
        healthz = f.wrk(f.BASE + "/healthz", args.seconds, connections=CONNECTIONS)
        # Right before the storm: the accounts must still be cached when it runs.
        # wrk runs for its whole duration (long enough at ~2,500 cold sign-ins
        # a second); the threads stop once through.
        warmed = f.wrk(f.BASE + "/", 2 + len(users) // 2_500, connections=CONNECTIONS, script=warm)
        assert warmed["requests"] >= len(users) - len(nominees), ("warm-up fell short", warmed["raw"])
        # BENCH_PERF=FILE records the whole machine's profile during the storm (perf record -a -g).
        perf = os.environ.get("BENCH_PERF")
        profiler = perf and subprocess.Popen(["perf", "record", "-a", "-g", "-o", f"{perf}.{backend}",
                                              "--", "sleep", str(args.seconds)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        storm = f.wrk(f.BASE + "/", args.seconds, connections=CONNECTIONS, script=script)
        if profiler:
            profiler.wait()
        # Each voter's ballot: the candidates' first page, their own votes, votes left.
        ballot = f.wrk(f.BASE + "/", args.seconds, connections=CONNECTIONS, script=ballot_script)
        start = time.monotonic()
        f.request("POST", f"/api/v1/rounds/{rid}/close", token, {})
        close_s = time.monotonic() - start
        read_results = f.wrk(f.BASE + f"/api/v1/rounds/{rid}/results", args.seconds, connections=CONNECTIONS,
                             headers=[f"Authorization: Bearer {token}"])
        results = f.request("GET", f"/api/v1/rounds/{rid}/results?per_page=500", token)
        counted = sum(i["vote_count"] for i in results["items"])
        ledger = f.request("GET", f"/api/v1/rounds/{rid}/ledger?per_page=1", token)["total"]
    pgbench = pgbench_insert(url.rsplit("/", 1)[0], args.seconds, workdir) if backend == "postgres" else None
    cleanup()
    return {"healthz": healthz, "storm": storm, "counted": counted, "ledger": ledger, "pgbench_tps": pgbench,
            "voters": len(users) - len(nominees), "entries": len(entries), "ballot": ballot, "results": read_results,
            "close_s": close_s}


def rows(backend, r):
    """The table rows for one backend's run."""
    s, h = r["storm"], r["healthz"]
    created = int(re.search(r"created=(\d+)", s["raw"]).group(1))
    other = int(re.search(r"other=(\d+)", s["raw"]).group(1))
    out = [(backend, f"GET /healthz (wrk -t2 -c{CONNECTIONS})", f"{h['rps']:,.0f} req/s, p99 {h['p99_ms']:.2f} ms", "baseline")]
    target = "≥ 0.5 × healthz, p99 ≤ 25 ms" if backend == "sqlite" else "≥ 0.8 × pgbench"
    ratio = f"{s['rps'] / h['rps']:.2f} × healthz"
    if r["pgbench_tps"]:
        out.append((backend, "pgbench single-row INSERT (-c16 -j2)", f"{r['pgbench_tps']:,.0f} tps", "baseline"))
        ratio += f", {s['rps'] / r['pgbench_tps']:.2f} × pgbench"
    out.append((backend, f"POST /rounds/{{id}}/votes, distinct votes ({r['voters']:,} voters × {VOTES_PER_VOTER}, {r['entries']} entries; wrk -t2 -c{CONNECTIONS})",
                f"{s['rps']:,.0f} req/s, p99 {s['p99_ms']:.2f} ms, {ratio}; 201: {created:,}, other: {other:,}", target))
    out.append((backend, "acknowledged votes counted (tally / ledger)", f"{r['counted']:,} / {r['ledger']:,} of {created:,}", "all"))
    for name, key in (("GET /rounds/{id}/ballot, each voter's own (open round)", "ballot"),
                      ("GET /rounds/{id}/results, first page (closed round)", "results")):
        w = r[key]
        out.append((backend, f"{name} (wrk -t2 -c{CONNECTIONS})",
                    f"{w['rps']:,.0f} req/s, p99 {w['p99_ms']:.2f} ms, {w['rps'] / h['rps']:.2f} × healthz; non-2xx: {w['non2xx']}", ""))
    out.append((backend, f"POST /rounds/{{id}}/close after the storm ({r['counted']:,} votes)", f"{r['close_s'] * 1000:.0f} ms", ""))
    return out


def main():
    args = f.prepare(employees=50_000)
    table = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            r = run_backend(backend, args, workdir)
            print(json.dumps(r, indent=1), file=sys.stderr)
            table += rows(backend, r)
    f.print_table(table)


if __name__ == "__main__":
    main()
