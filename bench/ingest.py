"""Ingest benchmark: /healthz and /v1/collect side by side, in one run, with wrk.

    python -m bench.ingest                       # SQLite, one server process
    python -m bench.ingest --postgres URL --workers 2
    python -m bench.ingest --postgres --workers 2 [--fsync-off] [--transport tcp|unix|both]
                                                 # throwaway cluster, durable

Starts ``rapport serve`` (rate limits off, no access log) on a fresh database, registers a
site, then runs wrk (Debian package ``wrk``) against ``/healthz`` and against
``/v1/collect`` (20-signal batches, unique batch ids, reply after commit) and against
``/v1/hints/{visitor}``, and prints req/s, events/s, p50/p99 and the ratio to ``/healthz``.
Load generator and server share the machine's cores: numbers are for these machines only.

The three run interleaved, in ``--rounds`` slices of ``--seconds / rounds`` each (healthz,
collect, hints, then again): on a shared machine whose speed drifts within a minute, two
endpoints measured one after the other compared two different machines. A ratio is the median
of the rounds' ratios; req/s and events/s are over the summed time, p50/p99 the rounds' medians.

A throwaway cluster is reached over loopback TCP, as a database on another host is
(``--transport unix``: through its Unix socket, as a server on the same host may reach it;
``both``: one run of each, one after the other).

Over the same slices it measures the CPU each party used (``bench/cpu_use.py``): the server's
processes and a throwaway cluster's from ``/proc``, wrk's from its rusage; it prints them per
request and the ceiling they imply for collect on this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from bench.cpu_use import (
    ceiling_events_per_second,
    children_cpu_seconds,
    postmaster_pid,
    tree_cpu_seconds,
)
from rapport.client_py.identity import visitor_id_from_key
from rapport.server.sites.model import Site
from rapport.server.storage import Storage, create_storage
from rapport.server.storage.base import IngestBatch
from rapport.server.testing.server import free_port, serve_process, wait_until_serving

ORIGIN = "https://bench.example"
LUA = Path(__file__).with_name("ingest_collect.lua")
SIGNALS_PER_BATCH = 20
_THROWAWAY = "throwaway"


#: The kinds of socket error wrk counts.
SOCKET_ERRORS = ("connect", "read", "write", "timeout")


def parse_wrk(output: str) -> dict[str, float]:
    def seconds(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    result["requests"] = float(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        result[f"p{pct}"] = seconds(match.group(1)) if match else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    # "Socket errors: connect 0, read 3, write 0, timeout 59": kept apart, because a timeout
    # (no answer within wrk's 2 s) and an error status are different findings.
    errors = re.search(r"Socket errors: (.*)", output)
    for kind in SOCKET_ERRORS:
        found = re.search(rf"{kind} (\d+)", errors.group(1)) if errors else None
        result[f"socket_{kind}"] = float(found.group(1)) if found else 0.0
    result["socket_errors"] = sum(result[f"socket_{kind}"] for kind in SOCKET_ERRORS)
    return result


def failures(r: dict[str, float]) -> str:
    """``non-2xx`` and socket errors by kind, for the table: "0", or e.g. "3 (+ timeout 59)"."""
    socket = ", ".join(
        f"{kind} {int(r[f'socket_{kind}'])}" for kind in SOCKET_ERRORS if r.get(f"socket_{kind}")
    )
    return f"{int(r['non2xx'])}" + (f" (+ socket {socket})" if socket else "")


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int,
    script: Path | None,
    env: dict[str, str],
    header: str | None = None,
) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header is not None:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url], check=True, capture_output=True, text=True, env={**os.environ, **env}
    ).stdout
    return parse_wrk(output)


def merged(slices: list[dict[str, float]], seconds: float) -> dict[str, float]:
    """One endpoint's figures from its interleaved slices: counts summed, req/s over the summed
    time, p50/p99 the slices' medians."""
    out = {k: sum(s[k] for s in slices) for k in slices[0] if k not in ("rps", "p50", "p99")}
    out["rps"] = out["requests"] / seconds
    for k in ("p50", "p99"):
        out[k] = statistics.median(s[k] for s in slices)
    return out


def held_rate(
    url: str, *, rate: int, seconds: int, clients: int = 50, header: str | None = None
) -> dict[str, float]:
    """Hold ``url`` at ``rate`` req/s with h2load (``--rps`` per client) and read its log.

    wrk can only saturate (its ``delay()`` does not subtract the response time, so a paced
    wrk falls behind exactly when the server slows down); h2load sends each client's requests
    on a fixed schedule and logs every request's duration, so the percentiles are exact.
    The clients connect one per thread per millisecond (``-r2 --rate-period=1ms``), so their
    schedules are spread over the period instead of all 50 firing in the same instant — that
    synchronised burst, not the server, made a p50 of 4–5 ms at 5k req/s.
    """
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        output = subprocess.run(
            ["h2load", "--h1", f"-c{clients}", "-t2", f"--rps={rate / clients:g}",
             "-r2", "--rate-period=1ms", f"-n{rate * seconds}", f"--log-file={log.name}",
             *(["-H", header] if header else []), url],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        rows = [line.split("\t") for line in Path(log.name).read_text().splitlines()]
    durations = sorted(int(r[2]) / 1e6 for r in rows)
    ok = sum(1 for r in rows if r[1].startswith("2"))
    done = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", output)
    return {
        "rps": float(done.group(2)) if done else len(rows) / seconds,
        "p50": durations[len(durations) // 2],
        "p99": durations[min(len(durations) - 1, int(len(durations) * 0.99))],
        "p999": durations[min(len(durations) - 1, int(len(durations) * 0.999))],
        "non2xx": float(len(rows) - ok),
        "socket_errors": 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=_THROWAWAY,
        help="PostgreSQL instead of SQLite: postgresql://… (an empty database; its settings are "
        "printed), or no URL for a throwaway cluster, durable (fsync, synchronous_commit and "
        "full_page_writes on)",
    )
    parser.add_argument(
        "--fsync-off",
        action="store_true",
        help="with a throwaway cluster: also run it with fsync=off, synchronous_commit=off "
        "(the tests' settings) after the durable run, for the side-by-side figure",
    )
    parser.add_argument(
        "--transport",
        choices=("unix", "tcp", "both"),
        default="tcp",
        help="with a throwaway cluster: reach it over loopback TCP (as over a network), "
        "through its Unix socket (as on one host), or both, one after the other",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10, help="per endpoint, all rounds")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved slices per endpoint (see above)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--hints-rate",
        type=int,
        default=5000,
        help="also hold /v1/hints at this fixed rate (req/s) and report its latency; 0: skip",
    )
    parser.add_argument(
        "--writer",
        action="store_true",
        help="no HTTP: the group-commit writer alone on a durable and an fsync=off throwaway "
        "PostgreSQL, interleaved (for machines without wrk)",
    )
    parser.add_argument(
        "--writer-ids",
        action="store_true",
        help="no HTTP: the writer alone on one durable throwaway PostgreSQL, signal ids one "
        "per nextval (as before migration 0008) vs in blocks, interleaved",
    )
    args = parser.parse_args()
    if args.writer:
        writer_only(args.seconds, args.connections)
        return 0
    if args.writer_ids:
        writer_ids(args.seconds, args.connections)
        return 0
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: make bench-tools (apt-get install wrk)")
    if args.hints_rate and shutil.which("h2load") is None:
        sys.exit("h2load not found: make bench-tools (apt-get install nghttp2-client)")

    if args.postgres is None:
        tmp = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
        run_once(f"sqlite:///{tmp / 'bench.db'}", args, "sqlite")
    elif args.postgres != _THROWAWAY:
        run_once(args.postgres, args, "postgresql")
    else:
        from rapport.server.testing.postgres import cluster

        modes = {"durable": True, "fsync=off": False}
        transports = ("tcp", "unix") if args.transport == "both" else (args.transport,)
        for name in ("durable", "fsync=off") if args.fsync_off else ("durable",):
            for transport in transports:
                with cluster(durable=modes[name]) as pg:
                    url = pg.socket_url if transport == "unix" else pg.admin_url
                    over = "its Unix socket" if transport == "unix" else "loopback TCP"
                    title = f"postgresql ({name}, throwaway cluster, over {over})"
                    run_once(url, args, title, pg.data)
    return 0


def writer_only(seconds: int, in_flight: int) -> None:
    """Durable vs fsync=off PostgreSQL through the real writer (``Storage.ingest``,
    ``--connections`` batches of 20 signals in flight, rollups on), the two arms interleaved
    chunk by chunk in one process — one server process's writer, without HTTP."""
    from bench.report import month
    from rapport.server.testing.postgres import cluster

    data = month(signals=seconds * 40_000, visitors=max(100, seconds * 200))
    with cluster(durable=True) as durable, cluster(durable=False) as fast:

        async def run() -> dict[str, float]:
            async with (
                create_storage(durable.admin_url) as on,
                create_storage(fast.admin_url) as off,
            ):
                return await interleaved({"durable": on, "fsync=off": off}, data, in_flight)

        load_before = os.getloadavg()[0]
        rates = asyncio.run(run())
        print(
            f"writer only, {len(data):,} batches of 20 signals, {in_flight} in flight, one "
            f"process, arms interleaved; load average {load_before:.1f} → "
            f"{os.getloadavg()[0]:.1f}\n"
            f"durable ({postgres_settings(durable.admin_url)}): {rates['durable']:,.0f} signals/s\n"
            f"fsync=off ({postgres_settings(fast.admin_url)}): {rates['fsync=off']:,.0f} "
            f"signals/s\ndurable / fsync=off: {rates['durable'] / rates['fsync=off']:.2f}"
        )


async def interleaved(
    storages: dict[str, Storage], data: list[IngestBatch], in_flight: int
) -> dict[str, float]:
    """Signals/s of each arm (a site of its own in each storage): chunks of ``in_flight``
    batches go to each arm in turn (the first arm alternating), never two at once, so every
    arm sees the same load."""
    from bench.report import _chunk

    arms: dict[str, tuple[Storage, Site]] = {}
    for name, storage in storages.items():
        arms[name] = (storage, (await storage.create_site(name, [ORIGIN], now=time.time())).site)
    chunks = [data[i : i + in_flight] for i in range(0, len(data), in_flight)]
    spent = dict.fromkeys(arms, 0.0)
    for n, chunk in enumerate(chunks):
        names = list(arms) if n % 2 == 0 else list(reversed(arms))
        for name in names:
            storage, site = arms[name]
            spent[name] += await _chunk(storage, site, chunk)
    signals = sum(b.signals.count for b in data)
    return {name: signals / seconds for name, seconds in spent.items()}


def writer_ids(seconds: int, in_flight: int) -> None:
    """Signal ids one per ``nextval`` (the sequence's increment set back to 1: a round trip
    and a sequence call per signal in every group, as before migration 0008) vs blocks of
    4,096, through the real writer on two fresh databases of one durable throwaway cluster,
    interleaved chunk by chunk in one process."""
    import asyncpg  # type: ignore[import-untyped]

    from bench.report import month, postgres
    from rapport.server.testing.postgres import cluster

    data = month(signals=seconds * 40_000, visitors=max(100, seconds * 200))
    with cluster(durable=True) as pg, postgres(pg.admin_url) as (per_signal, blocks):

        async def run() -> dict[str, float]:
            async with create_storage(per_signal):
                pass  # migrated; now back to one id per nextval
            conn = await asyncpg.connect(per_signal)
            try:
                await conn.execute("ALTER SEQUENCE signals_id_seq INCREMENT BY 1")
            finally:
                await conn.close()
            async with create_storage(per_signal) as one, create_storage(blocks) as many:
                return await interleaved(
                    {"one id per nextval": one, "blocks": many}, data, in_flight
                )

        load_before = os.getloadavg()[0]
        rates = asyncio.run(run())
        old, new = rates["one id per nextval"], rates["blocks"]
        print(
            f"writer only, {len(data):,} batches of 20 signals, {in_flight} in flight, one "
            f"process, durable PostgreSQL ({postgres_settings(pg.admin_url)}), arms "
            f"interleaved; load average {load_before:.1f} → {os.getloadavg()[0]:.1f}\n"
            f"one id per nextval: {old:,.0f} signals/s\nblocks of 4,096: {new:,.0f} "
            f"signals/s\nblocks / one per nextval: {new / old:.2f}"
        )


#: Who used the cores during a slice, as the keys of its figures: the server's processes, the
#: throwaway PostgreSQL's (0 when the database is not one the bench started), and wrk.
CPU_PARTIES: Final = ("cpu_server", "cpu_database", "cpu_wrk")


def cpu_table(
    routes: dict[str, dict[str, float]], *, seconds: float, database_measured: bool
) -> list[str]:
    """The CPU each party used per request of each route (µs), and how many cores each kept
    busy on average (CPU seconds over the measured seconds), as Markdown table lines."""
    lines = [
        "| endpoint | server µs/req | PostgreSQL µs/req | wrk µs/req | cores busy: server +"
        " PostgreSQL + wrk |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in routes.items():
        per = [r[k] / r["requests"] * 1e6 if r["requests"] else float("nan") for k in CPU_PARTIES]
        busy = [r[k] / seconds for k in CPU_PARTIES]
        database = f"{per[1]:,.0f}" if database_measured else "–"
        lines.append(
            f"| {name} | {per[0]:,.0f} | {database} | {per[2]:,.0f} | "
            f"{busy[0]:.2f} + {busy[1]:.2f} + {busy[2]:.2f} = {sum(busy):.2f} |"
        )
    return lines


def print_cpu(
    routes: dict[str, dict[str, float]], *, seconds: float, database_measured: bool
) -> None:
    """:func:`cpu_table`, then what it means for collect: its server CPU against /healthz's,
    and the most this machine's cores could store at collect's CPU per batch."""
    cores = os.cpu_count() or 1
    print(
        f"\nCPU per request ({'server, PostgreSQL' if database_measured else 'server'} from /proc,"
        f" wrk from its rusage; {cores} cores):\n"
    )
    print("\n".join(cpu_table(routes, seconds=seconds, database_measured=database_measured)))
    health, collect = routes["/healthz"], routes["/v1/collect (20 signals)"]
    if not (health["requests"] and collect["requests"] and collect["cpu_server"]):
        return
    server_ratio = (health["cpu_server"] / health["requests"]) / (
        collect["cpu_server"] / collect["requests"]
    )
    per_batch = sum(collect[k] for k in CPU_PARTIES) / collect["requests"] * 1e6
    print(
        f"\n/v1/collect × /healthz in the server's CPU per request: {server_ratio:.2f}."
        f"\nA collect costs {per_batch:,.0f} µs of CPU in all here: even with nothing else"
        f" running, {cores} cores could store at most"
        f" {ceiling_events_per_second(per_batch, cores, SIGNALS_PER_BATCH):,.0f} events/s."
    )


def postgres_settings(url: str) -> str:
    """The durability settings of the server behind ``url``, as it reports them."""
    import asyncpg  # type: ignore[import-untyped]

    async def show() -> str:
        conn = await asyncpg.connect(url)
        try:
            names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
                     "commit_delay", "server_version")  # fmt: skip
            return ", ".join([f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names])
        finally:
            await conn.close()

    return asyncio.run(show())


def run_once(
    url: str, args: argparse.Namespace, backend: str, database_dir: Path | None = None
) -> None:
    """One server configuration: start it, run wrk against the three routes, print a table.

    ``database_dir``: a throwaway cluster's data directory, whose postmaster and backends'
    CPU is then measured beside the server's and wrk's."""

    async def add_site() -> str:
        async with create_storage(url) as storage:
            return (
                await storage.create_site(f"Bench {time.time()}", [ORIGIN], now=time.time())
            ).site.site_key

    site_key = asyncio.run(add_site())
    load_before = f"{os.getloadavg()[0]:.1f}"

    async def stored_batches() -> int:
        async with create_storage(url) as storage:
            site = await storage.site_by_key(site_key)
            assert site is not None
            return (await storage.site_stats(site.id)).batches

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_process(
        url, port, "--workers", str(args.workers), "--rate-per-ip", "0", "--rate-per-site", "0",
        "--no-access-log", "--log-level", "warning",
    )  # fmt: skip
    try:
        wait_until_serving(base, server, timeout=30)
        time.sleep(1.0 if args.workers > 1 else 0.2)
        database_pid = postmaster_pid(database_dir) if database_dir is not None else None

        def cpu_now() -> tuple[float, float, float]:
            """CPU seconds used so far by each of :data:`CPU_PARTIES`."""
            return (
                tree_cpu_seconds(server.pid),
                tree_cpu_seconds(database_pid) if database_pid is not None else 0.0,
                children_cpu_seconds(),
            )

        def wrk_slice(url: str, **options: Any) -> dict[str, float]:
            """:func:`wrk`'s figures for one slice, with the CPU each party used during it."""
            before = cpu_now()
            figures = wrk(url, **options)
            for key, start, end in zip(CPU_PARTIES, before, cpu_now(), strict=True):
                figures[key] = end - start
            return figures

        env = {"SITE": site_key, "ORIGIN": ORIGIN, "RUN": str(int(time.time()))}
        rounds = max(1, min(args.rounds, args.seconds))
        common = {
            "seconds": args.seconds // rounds,
            "connections": args.connections,
            "threads": args.threads,
            "env": env,
        }
        # The visitor the Lua script's first connection writes as (key "visitor-000001k…"),
        # proven by its key: hints need it (client_py/identity.py).
        key = "visitor-000001".ljust(43, "k")
        hints_url = f"{base}/v1/hints/{visitor_id_from_key(key)}?site={site_key}"
        proof = f"Authorization: Bearer {key}"
        # Warm-up: every worker process serves each route once under load before the clock
        # runs (first requests build Litestar's per-route caches and open pool connections).
        warm = {**common, "seconds": 2, "env": {**env, "RUN": f"{env['RUN']}0"}}
        for target, script in ((f"{base}/healthz", None), (base, LUA), (hints_url, None)):
            wrk(target, script=script, header=proof, **warm)  # type: ignore[arg-type]
        slices: dict[str, list[dict[str, float]]] = {"health": [], "collect": [], "hints": []}
        for round_ in range(rounds):
            slices["health"].append(wrk_slice(f"{base}/healthz", script=None, **common))
            before = asyncio.run(stored_batches())
            run_env = {**env, "RUN": f"{env['RUN']}r{round_}"}  # new batch ids every round
            collected = wrk_slice(base, script=LUA, **{**common, "env": run_env})
            time.sleep(0.5)  # the last replies were sent after their commits; be generous
            # Events from what was stored, not from replies: a retried (duplicate) batch is
            # acknowledged without storing anything, so replies alone could flatter the rate.
            collected["stored"] = float(asyncio.run(stored_batches()) - before)
            slices["collect"].append(collected)
            slices["hints"].append(wrk_slice(hints_url, script=None, header=proof, **common))
        measured = common["seconds"] * rounds
        health, collect, hints = (
            merged(slices[k], measured) for k in ("health", "collect", "hints")
        )
        ratios = {
            name: [s["rps"] / h["rps"] for s, h in zip(slices[name], slices["health"], strict=True)]
            for name in ("collect", "hints")
        }
        collect["ratio"] = statistics.median(ratios["collect"])
        hints["ratio"] = statistics.median(ratios["hints"])
        health["ratio"] = 1.0
        collect["events"] = collect["stored"] * SIGNALS_PER_BATCH / measured
        paced = None
        if args.hints_rate:
            paced = held_rate(hints_url, rate=args.hints_rate, seconds=args.seconds, header=proof)
    finally:
        server.terminate()
        server.wait(timeout=60)

    if url.startswith("postgresql"):
        print(f"\nPostgreSQL settings: {postgres_settings(url)}")
    print(f"load average before/after the run: {load_before} / {os.getloadavg()[0]:.1f}")
    print(
        f"\nrapport serve --workers {args.workers} on {backend}; wrk -t{args.threads} "
        f"-c{args.connections}, {rounds} interleaved rounds of {common['seconds']}s per endpoint,"
        f" on the same machine ({os.cpu_count()} cores)\n"
    )
    print(
        "| endpoint | req/s | events/s | p50 ms | p99 ms | × /healthz | non-2xx (+ socket errors) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in (
        ("/healthz", health),
        ("/v1/collect (20 signals)", collect),
        ("/v1/hints/{visitor}", hints),
    ):
        events = f"{r['events']:,.0f}" if "events" in r else "–"
        print(
            f"| {name} | {r['rps']:,.0f} | {events} | {r['p50'] * 1e3:.1f} | "
            f"{r['p99'] * 1e3:.1f} | {r['ratio']:.2f} | "
            f"{failures(r)} |"
        )
    print(
        f"\n/v1/collect: {collect['requests']:,.0f} requests, {collect['stored']:,.0f} new batches"
        f" stored (duplicates acknowledged without storing:"
        f" {max(0.0, collect['requests'] - collect['stored'] - collect['non2xx']):,.0f}; requests"
        " still in flight when wrk stopped are stored but not counted by wrk); events/s counts"
        " stored signals only."
    )
    print(f"/v1/collect × /healthz by round: {' / '.join(f'{x:.2f}' for x in ratios['collect'])}")
    print_cpu(
        {"/healthz": health, "/v1/collect (20 signals)": collect, "/v1/hints/{visitor}": hints},
        seconds=measured,
        database_measured=database_dir is not None,
    )
    if paced is not None:
        print(
            f"\n/v1/hints/{{visitor}} held at {args.hints_rate:,} req/s (h2load --rps, 50"
            f" clients): achieved {paced['rps']:,.0f} req/s, p50 {paced['p50'] * 1e3:.2f} ms,"
            f" p99 {paced['p99'] * 1e3:.2f} ms, p99.9 {paced['p999'] * 1e3:.2f} ms,"
            f" non-2xx {int(paced['non2xx'] + paced['socket_errors'])}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
