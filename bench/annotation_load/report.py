"""What the benchmark prints: each phase's figures, the integrity check, SQL per request, the targets."""
from __future__ import annotations

from .phase import UNIT

# Targets (2 cores, 64 concurrent connections).
TARGET_RATE = 150.0
TARGET_P95_MS = 250.0
TARGET_RATIO = 0.5


def fmt_lat(lat: dict | None) -> str:
    """Returns a percentiles() result as one line, or 'no samples'."""
    if not lat or not lat["n"]:
        return "no samples"
    return f"p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms  p99 {lat['p99']:.1f} ms  max {lat['max']:.1f} ms  (n={lat['n']})"


def print_phase(res: dict, label: str) -> None:
    """Print one phase's block: throughput, latencies, server CPU, errors, the CPU split, per-view figures."""
    unit = UNIT[res["mode"]]
    print(f"\n== {label} ==")
    if res["rate_target"]:
        how = f"paced at {res['rate_target']:.0f}/s in total"
    else:
        how = f"think {res['think']} s" if res["think"] else "saturation (think 0)"
    print(f"  {res['annotators']} concurrent clients, {res['warmup']:.0f} s warm-up + {res['seconds']:.0f} s measured, {how}")
    print(f"  {unit:<16} {res['throughput']:.1f}   (all HTTP requests: {res['requests_per_s']:.1f}/s)")
    print(f"  latency          {fmt_lat(res['latency_ms'])}")
    if res.get("server_cpu_ms"):
        per = {"bare": "insert", "launch": "session start (its onboarding pages included)"}.get(
            res["mode"], "submission (onboarding pages included)")
        print(f"  server CPU       {res['server_cpu_ms']:.2f} ms (gunicorn + PostgreSQL) per {per}")
    if res["latency_from_slot_ms"]:
        print(f"  from slot        {fmt_lat(res['latency_from_slot_ms'])}   (includes waiting for a free annotator;"
              f" max slot backlog {res['ticket_backlog_max']})")
    if res["mode"] in ("annotate", "launch"):
        for step, lat in res["other_steps_ms"].items():
            print(f"    {step:<14} {fmt_lat(lat)}")
        print(f"  annotators started {res['annotators_started']}, sessions finished {res['sessions_finished']}")
    errors = res["errors"]
    print(f"  errors           {res['error_count']}" + ("" if not errors else "  " + "; ".join(f"{k}: {v}" for k, v in errors.items())))
    cpu = res["cpu_percent"]
    print(f"  CPU (% of one core, {cpu['capacity']} = all)  busy {cpu['busy']}  gunicorn {cpu['gunicorn']}  "
          f"postgres {cpu['postgres']}  generator {cpu['generator']}  other programs {cpu['other']}"
          + ("" if res.get("background_before") is None else f"  (machine busy before the phase: {res['background_before']:.0f})"))
    if res.get("views"):
        print("  Django time per view inside gunicorn (bench/viewcpu.py; the WSGI server's HTTP work and PostgreSQL not included):")
        print(f"    {'view':<34} {'req/s':>7} {'CPU ms':>8} {'wall ms':>8} {'SQL/req':>8} {'% of a core':>12}")
        for name, row in res["views"].items():
            print(f"    {name:<34} {row['per_s']:>7} {row['cpu_ms']:>8} {row['wall_ms']:>8} {row['queries']:>8} {row['core_pct']:>12}")
    if cpu["other"] > 25:
        print(f"  WARNING: other programs used {cpu['other']:.0f}% of a core during this phase: "
              "the figures are lower and noisier than on a quiet machine.")


def mark(ok: bool | None) -> str:
    """Returns a target's verdict, all of one width: MET, MISSED, or n/a for None."""
    return "n/a   " if ok is None else ("MET   " if ok else "MISSED")


def print_integrity(integrity: dict) -> None:
    """Print the integrity check (verify_database's result): acknowledged answers against the table."""
    print("\n== Integrity: acknowledged ratings vs annotation_rating ==")
    print(f"  acknowledged 'saved' answers {integrity['acknowledged']} ({integrity['acknowledged_unique']} distinct "
          f"(attempt, position); acknowledged twice: {integrity['acknowledged_twice']}; 'saved' != token position: "
          f"{integrity['saved_position_mismatch']})")
    print(f"  SELECT count(*) FROM annotation_rating = {integrity['db_count']}   missing (acked, not stored): "
          f"{integrity['missing']}   extra: {integrity['extra']} (of which from in-doubt submits without an answer: "
          f"{integrity['extra_in_doubt']}; sent without answer: {integrity['in_doubt_sent']})")
    print(f"  -> {'database holds exactly the acknowledged ratings' if integrity['exact'] else 'MISMATCH'}")


def print_probe(probe: dict, show_queries: bool, profile: bool) -> None:
    """Print the in-process probe (probe_queries' result): SQL statements and time per request."""
    print("\n== SQL per request (in-process, Django test client, same database) ==")
    for label, row in probe["per_request"].items():
        if label == "submit":
            continue
        print(f"  {label:<32} {row['queries']:>3} queries   {row['ms']:7.2f} ms wall, {row['cpu_ms']:6.2f} ms Python CPU")
    print(f"  submit, median of 38: {probe['submit_ms_inprocess_median']} ms wall, "
          f"{probe['submit_cpu_ms_inprocess_median']} ms Python CPU ({probe['submit_sql_ms_median']} ms waiting on SQL); "
          "plus one 'SELECT 1' per request under gunicorn (CONN_HEALTH_CHECKS), not counted here")
    if show_queries:
        print("  SQL of a middle submit:")
        for q in probe["sql_middle_submit"]:
            print(f"    {q[:220]}")
    if profile:
        print(probe["profile"])


def print_targets(results: dict, ceilings: list[dict], integrity: dict, annotators: int, rate: float) -> float | None:
    """Print the ceiling (the fastest bare insert of `results` and `ceilings`), each target as MET
    or MISSED, and the resave and launch figures. Returns submissions/s at saturation over the
    ceiling's bare inserts/s, or None without both phases."""
    sat, paced, bare = results.get("saturation"), results.get("paced"), results.get("bare")
    if bare:
        candidates = [bare, *ceilings]
        bare = max(candidates, key=lambda r: r["throughput"])
        tried = ", ".join("{:.1f}/s under {}".format(r["throughput"], r["config"]) for r in candidates)
        print(f"\n== Ceiling: the fastest bare insert, {bare['throughput']:.1f}/s under {bare['config']} (of {tried}) ==")
    ratio = sat["throughput"] / bare["throughput"] if sat and bare and bare["throughput"] else None
    all_errors = sum(r["error_count"] for r in results.values())
    print(f"\n== Targets (2 cores, {annotators} concurrent connections) ==")
    if sat:
        print(f"  {mark(sat['throughput'] >= TARGET_RATE)} >= {TARGET_RATE:.0f} submissions/s at saturation: "
              f"{sat['throughput']:.1f}/s")
    if paced:
        p95 = paced["latency_ms"]["p95"]
        if paced["throughput"] < 0.95 * rate:
            print(f"  note: the paced phase reached only {paced['throughput']:.1f} of {rate:.0f} submissions/s "
                  "(the server fell behind; see 'from slot')")
        print(f"  {mark(p95 is not None and p95 <= TARGET_P95_MS)} p95 <= {TARGET_P95_MS:.0f} ms at {rate:.0f} "
              f"submissions/s paced: {p95} ms (achieved {paced['throughput']:.1f}/s; p95 from slot "
              f"{(paced['latency_from_slot_ms'] or {}).get('p95')} ms)")
    if sat:
        p95 = sat["latency_ms"]["p95"]
        need = annotators / (TARGET_P95_MS / 1000)
        print(f"  {mark(p95 is not None and p95 <= TARGET_P95_MS)} p95 <= {TARGET_P95_MS:.0f} ms at saturation: {p95} ms "
              f"(Little's law: {annotators} in flight need > {need:.0f}/s for that)")
    print(f"  {mark(all_errors == 0)} no errors: {all_errors}")
    print(f"  {mark(integrity['exact'])} nothing lost, database == acknowledged: missing {integrity['missing']}, "
          f"unexplained extra {integrity['extra_unexplained']}")
    print(f"  {mark(None if ratio is None else ratio >= TARGET_RATIO)} submissions/s / bare inserts/s >= {TARGET_RATIO}: "
          + ("n/a" if ratio is None else f"{sat['throughput']:.1f} / {bare['throughput']:.1f} = {ratio:.2f}"))
    resave = results.get("resave")
    if resave and bare and bare["throughput"]:
        leaked = resave["other_steps_ms"].get("first pass submit", {}).get("n", 0)
        print(f"  info   the submit alone (resave phase) / bare inserts/s: {resave['throughput']:.1f} / "
              f"{bare['throughput']:.1f} = {resave['throughput'] / bare['throughput']:.2f}; server CPU "
              f"{bare['server_cpu_ms']:.2f} / {resave['server_cpu_ms']:.2f} ms = "
              f"{bare['server_cpu_ms'] / resave['server_cpu_ms']:.2f} (onboarding requests in its window: "
              f"{sum(v['n'] for k, v in resave['other_steps_ms'].items())}, first-pass submits {leaked})")

        # What the full-flow ratio could at best be with this protocol's page requests and this
        # submit: every page request as cheap as a bare insert, a floor for the pages that write a
        # row and below what a page that renders a template can cost. Under 0.5, no cheaper page
        # gets the full flow to the target; only a cheaper submit or fewer pages can.
        if sat and sat.get("server_cpu_ms") and sat["throughput"] and resave.get("server_cpu_ms"):
            pages = sat["requests_per_s"] / sat["throughput"] - 1
            bound = bare["server_cpu_ms"] / (resave["server_cpu_ms"] + pages * bare["server_cpu_ms"])
            print(f"  info   best full-flow ratio with this submit if every other page request cost one bare insert: "
                  f"{bare['server_cpu_ms']:.2f} / ({resave['server_cpu_ms']:.2f} + {pages:.3f} page requests per "
                  f"submission x {bare['server_cpu_ms']:.2f}) ms = {bound:.2f} (server CPU)")

    launch = results.get("launch")
    if launch:
        print(f"  info   launch: {launch['throughput']:.1f} session starts/s of new annotators; the start (lecture POST) "
              f"{fmt_lat(launch['latency_ms'])}")
    if sat and bare and sat.get("server_cpu_ms") and bare.get("server_cpu_ms"):
        print(f"         (server CPU per bare insert / per submission = {bare['server_cpu_ms']:.2f} / "
              f"{sat['server_cpu_ms']:.2f} ms = {bare['server_cpu_ms'] / sat['server_cpu_ms']:.2f}: the same ratio measured "
              "in CPU, less disturbed by other programs)")
    return ratio
