#!/usr/bin/env python3
"""The benchmark suite (issue 6): every headline measure next to its baseline,
on SQLite and on PostgreSQL, in one run; prints one table and writes it to
docs/performance.md with the machine, the command and the date.

- sign-in: login throughput vs raw argon2id verify, a 2,000-login burst,
  GET /me vs GET /healthz (bench/foundation.py)
- voting: a distinct-vote storm vs /healthz and pgbench's single-row insert,
  the ballot read and the results read vs /healthz, every acknowledged vote
  counted (bench/voting.py)
- screening: closing a 3,000-entry round with 15,000 reviews (bench/screening.py)
- the whole demo campaign (`awards demo`): 300,000 employees, ~1.4 M votes

Usage: python3 bench/suite.py [--backends sqlite,postgres] [--parts foundation,voting,screening,demo]
                              [--employees 300000] [--voters 50000] [--seconds 10] [--out docs/performance.md]
Run it on a quiet machine: nothing else building or running.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import foundation as f  # noqa: E402
import screening  # noqa: E402
import voting  # noqa: E402


def machine():
    with open("/proc/cpuinfo") as info:
        model = re.search(r"model name\s*:\s*(.*)", info.read())
    with open("/proc/meminfo") as info:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", info.read()).group(1))
    server = os.environ.get("AWARDS_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    pg = subprocess.run(["psql", f"{server}/postgres", "-Atc", "SHOW server_version"], capture_output=True, text=True)
    return (f"{os.cpu_count()} cores ({model.group(1) if model else 'unknown CPU'}), {mem_kib / 1024 / 1024:.0f} GiB, "
            f"Linux {platform.release()}, PostgreSQL {pg.stdout.strip() or 'not reachable'}")


def demo(backend, workdir, employees):
    """`awards demo` into a fresh database: the whole campaign's time and its phases."""
    env, _, cleanup = f.database_env(backend, workdir)
    start = time.monotonic()
    out = subprocess.run([f.BIN, "demo", "--employees", str(employees)], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    cleanup()
    if out.returncode != 0:
        raise SystemExit(f"awards demo failed on {backend}: {out.stderr}")
    phases = dict(re.findall(r"^\s{2}(\w[\w ]*?)\s+([\d.]+) s", out.stdout, re.M))
    votes = re.search(r"([\d,]+) votes from ([\d,]+) voters", out.stdout)
    winners = re.search(r"(\d+) winners published", out.stdout)
    return [(backend, f"`awards demo`: {employees:,} employees, {votes.group(2)} voters, {votes.group(1)} votes, "
                      f"{winners.group(1)} winners",
             f"{seconds:.0f} s in all (votes {phases.get('votes', '?')} s, round 1 {phases.get('round 1', '?')} s, "
             f"employees {phases.get('employees', '?')} s)", "< 180 s on SQLite")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="foundation,voting,screening,demo")
    parser.add_argument("--employees", type=int, default=300_000, help="for the sign-in part and the demo")
    parser.add_argument("--voters", type=int, default=50_000, help="for the vote storm")
    parser.add_argument("--out", default=os.path.join(f.ROOT, "docs", "performance.md"))
    args = f.prepare(parser)
    parts = args.parts.split(",")
    started = datetime.datetime.now(datetime.timezone.utc)
    argon_rate = f.argon2_rate(args.seconds) if "foundation" in parts else None
    table = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            if "foundation" in parts:
                r = f.run_backend(backend, args, workdir, argon_rate)
                print(json.dumps({backend: r}, ensure_ascii=False, indent=1), file=sys.stderr)
                table += f.rows(backend, r, args.employees, argon_rate)
            if "voting" in parts:
                r = voting.run_backend(backend, argparse.Namespace(employees=args.voters, seconds=args.seconds), workdir)
                print(json.dumps({backend: r}, indent=1), file=sys.stderr)
                table += voting.rows(backend, r)
            if "screening" in parts:
                r = screening.run_backend(backend, workdir)
                print(r, file=sys.stderr)
                table += screening.rows(backend, r)
            if "demo" in parts:
                table += demo(backend, workdir, args.employees)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=f.ROOT, capture_output=True, text=True).stdout.strip()
    command = "python3 bench/suite.py " + " ".join(sys.argv[1:])
    doc = f"""# Performance

Measured on {started:%Y-%m-%d %H:%M} UTC at commit `{commit}`, with

    {command.strip()}

on {machine()}. The service, the load generator (wrk, on loopback) and
PostgreSQL share the same cores, so the figures are lower than on a server
with the database apart, and noisy: compare the ratios, which put each
measure next to its baseline from the same run.

{f.markdown_table(table)}

How to read it:

- **Baselines.** `GET /healthz` is the service doing nothing (no database, no
  token): the ceiling for any request here. Raw argon2id verify is the
  ceiling for sign-ins, which are meant to be slow. pgbench's single-row
  insert is the ceiling for any write on this PostgreSQL server.
- **Votes.** Every request is a new vote; each is acknowledged only after
  the batch holding it committed. After the storm the round is closed and
  the tally and the ledger must both equal the number of 201 answers.
- **The demo** writes through the same store functions as the API, in
  batches of 2,000 votes, so its vote rate is the vote writer's ceiling
  without HTTP.
- History and profiles of earlier runs: `bench/README.md`.
"""
    with open(args.out, "w") as out:
        out.write(doc)
    f.print_table(table)
    print(f"\nwritten to {os.path.relpath(args.out, f.ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
