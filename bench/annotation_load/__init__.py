"""HTTP load benchmark of the annotation flow: gunicorn + PostgreSQL, driven by simulated annotators.

What it does, in one run:

1. Drops and recreates a PostgreSQL database (default `dream_bench`), migrates it and creates the
   campaign `bench` (40 videos per session, 5 checkers, consent text, short minimum reason, a huge
   target per video) with rows for regular, checker and demo videos. The video rows point at fake
   files (videos/<hash>.mp4): the benchmark never downloads video bytes, it measures the Django
   pages and the rating API only. It then seeds a past (--history, default 1,500 annotators with a
   qualified session and 40 ratings each), so that the phases run against a study under way:
   tables and planner statistics of a realistic size, not empty tables that grow mid-phase.
2. Starts gunicorn (config.wsgi:application, DJANGO_SETTINGS_MODULE=bench.settings = the project
   settings plus /bench/bare-insert/) on a free port with DEBUG=0, waits until it answers, and
   always stops it at the end (also on an error, Ctrl-C or SIGTERM).
3. Runs phases with one asyncio + aiohttp process and N concurrent simulated annotators:
     bare        POST /bench/bare-insert/ (one INSERT per request): the ceiling of this stack, also
                 measured under --ceiling-configs (default gthread 2x4); the fastest is the ceiling;
     saturation  annotators submit as fast as the server answers (think 0, or --think);
     resave      the submit alone: after onboarding and one pass of their session (warm-up), the
                 annotators save their 40 answers again in turn with new grades (a retry or a
                 changed answer), so no other page is requested in the measured window;
     paced       the annotators together submit at --rate per second (open loop: a ticker issues
                 submit slots on the clock; latency is reported from the send and from the slot);
     launch      (not run by default) a study's launch: every annotator is new, goes through entry,
                 consent, demographics and the lecture, presses start and leaves once the rating
                 page is shown; measures session starts per second, which all queue for the
                 campaign's lock, and the latency of the start.
   Each annotator goes through the real flow: entry link with a fresh PROLIFIC_PID, consent,
   demographics, lecture (starts the session), rate page (hidden token), 40 rating submits
   through /c/bench/api/ratings/ (JSON, as the page's script sends them), review page, Finish;
   then it starts over with a new PID.
   Cookies are kept per annotator by hand (the Secure session cookie of DEBUG=0 still flows over
   plain HTTP). So that the phases measure a running campaign rather than 64 people starting at
   the same second, each annotator's first session ends after a random number of submits, as if
   the person left (--no-stagger turns this off); every later session is complete.
   Before each phase the database gets a VACUUM ANALYZE (what autovacuum does in production; it
   is off on this development server) and the benchmark waits up to --wait-quiet seconds for
   other programs on the machine to calm down.
4. Prints submissions/s, p50/p95/p99 submit latency (and of the other pages), errors by kind,
   the CPU split (gunicorn, PostgreSQL of this database, this generator, other programs), the
   server CPU per submission, checks that the database holds exactly the acknowledged ratings
   ((attempt, position) pairs read from the signed tokens), counts SQL queries per request of
   the flow in-process, and prints each target as MET or MISSED. --view-cpu adds Django CPU,
   wall time and SQL statements per view measured inside gunicorn (bench/viewcpu.py).

Run:  .venv/bin/python -m bench.annotation_load           (the default phases, 30 s each)
      .venv/bin/python -m bench.annotation_load --seconds 20 --sweep   (try gunicorn settings first)
      .venv/bin/python -m bench.annotation_load --phases paced --rate 200 --annotators 64
      .venv/bin/python -m bench.annotation_load --phases saturation --view-cpu --show-queries
      (or the folder: .venv/bin/python bench/annotation_load ..., from anywhere)

Modules: cli (options and the run's order), database (the benchmark's database), seed (the campaign
and its history), server (gunicorn), phase (a phase's clock, records and summary), clients (the
simulated annotator's HTTP flow and the bare-insert client), measure (one phase end to end), cpu
(CPU from /proc), integrity (database against acknowledged ratings), probe (SQL per request,
in-process), report (what is printed).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: gunicorn's working folder, bench/results/ below it
