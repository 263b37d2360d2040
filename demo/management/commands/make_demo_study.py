"""`manage.py make_demo_study`: a DREAM-shaped study of synthetic face-swap videos with known realism, rated by a simulated crowd."""
from __future__ import annotations

from dataclasses import replace

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from demo.build import study_campaign_get_or_create, study_rows_register, study_videos_build
from demo.crowd import crowd_simulate
from demo.study import SIZES, study_plan


class Command(BaseCommand):
    help = (
        "Build a demo study: synthetic face-swap videos of drawn identities (pairs x methods, each "
        "method with its own artifacts, real videos as gold-5 checkers, very poor fakes as gold-1 "
        "checkers, one lecture demo per grade), imported through the ingest with their latent "
        "realism stored as ground truth, then rated by a simulated crowd through the workflow "
        "services. --size small (default: 54 videos, 48 annotators, about a minute) or dream (the "
        "paper's shape: 20 pairs x 38 methods, 1,520 videos, 3,500 annotators). Running it again "
        "adds nothing: videos already there are skipped, and the crowd runs only on a campaign "
        "without annotators. See docs/synthetic_study.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="small", help="Preset (default: small).")
        parser.add_argument("--slug", default=None, help="Campaign slug (default: demo-study for small, dream for dream).")
        parser.add_argument("--title", default=None, help="Campaign title.")
        parser.add_argument("--pairs", type=int, help="Identity pairs (small 3, dream 20).")
        parser.add_argument("--fake-methods", type=int, help="Face-swap methods (small 8, dream 35).")
        parser.add_argument("--real-methods", type=int, help="Real 'methods', takes per identity (small 1, dream 3).")
        parser.add_argument("--very-poor-methods", type=int, help="Methods poor enough for gold-1 checkers (small 1, dream 2).")
        parser.add_argument("--annotators", type=int, help="Simulated annotators (small 48, dream 3500; 0: videos only).")
        parser.add_argument("--target", type=int, help="Target ratings per video (small 50, dream 100).")
        parser.add_argument("--width", type=int, help="Frame width in pixels (default 640).")
        parser.add_argument("--height", type=int, help="Frame height in pixels (default 360).")
        parser.add_argument("--fps", type=int, help="Frames per second (default 25).")
        parser.add_argument("--seconds", type=float, help="Clip length (small 2, dream 5).")
        parser.add_argument("--seed", type=int, help="Seed of identities, methods and the crowd (default 2025).")
        parser.add_argument("--days", type=float, default=None, help="Simulated days the crowd arrives over (small 2, dream 10).")
        parser.add_argument("--workers", type=int, default=None, help="Rendering processes (default: one per core).")
        parser.add_argument("--crowd-workers", type=int, default=None,
                            help="Simulator processes (default: 2 on PostgreSQL, 1 on SQLite, which has a single writer).")
        parser.add_argument("--no-analysis", dest="analyse", action="store_false",
                            help="Do not run the analysis (manage.py run_analysis) after the crowd.")
        parser.add_argument("--no-render", action="store_true",
                            help="Register the videos as rows without files (for benchmarks of the crowd; nothing to watch).")

    def handle(self, *args, size, slug, title, days, workers, crowd_workers, no_render, analyse, **options):
        overrides = {
            field: options[name] for name, field in (
                ("pairs", "pairs"), ("fake_methods", "fake_methods"), ("real_methods", "real_methods"),
                ("very_poor_methods", "very_poor_methods"), ("annotators", "annotators"),
                ("target", "target_ratings_per_video"), ("width", "width"), ("height", "height"), ("fps", "fps"),
                ("seconds", "seconds"), ("seed", "seed"),
            ) if options[name] is not None
        }
        try:
            config = replace(SIZES[size], **overrides)
            plan = study_plan(config)
        except ValueError as exc:
            raise CommandError(str(exc))
        too_small = (len(plan.regular) < config.videos_per_session - config.checkers_per_session
                     or len(plan.checkers) < config.checkers_per_session)
        if config.annotators and too_small:
            raise CommandError(
                f"A session needs {config.videos_per_session - config.checkers_per_session} regular videos and "
                f"{config.checkers_per_session} checkers; this plan has {len(plan.regular)} and {len(plan.checkers)}. "
                "Add pairs or methods."
            )
        slug = slug or ("demo-study" if size == "small" else size)
        quiet = options["verbosity"] == 0
        campaign, _ = study_campaign_get_or_create(slug=slug, title=title or f"Deepfake realism demo study ({size})", plan=plan)
        self.stdout.write(
            f"Study {slug!r}: {len(plan.clips)} videos ({len(plan.regular)} regular, {len(plan.checkers)} checkers, "
            f"{len(plan.demos)} lecture demos), {config.pairs} pairs x {len(plan.methods)} methods, "
            f"{config.width}x{config.height} at {config.fps} fps, {config.seconds:g} s."
        )
        if no_render:
            added = study_rows_register(campaign=campaign, plan=plan)
            self.stdout.write(f"{added} video rows registered without files.")
        else:
            report = study_videos_build(
                campaign=campaign, plan=plan, workers=workers,
                progress=lambda it: tqdm(it, total=len(plan.clips), desc="videos", unit="video", disable=quiet),
            )
            if report.rendered:
                self.stdout.write(f"{report.rendered} videos rendered and imported in {report.seconds:.1f} s "
                                  f"({report.videos_per_second:.2f} videos/s); {report.skipped} were already there.")
            else:
                self.stdout.write(f"All {report.skipped} videos already there; nothing to render.")
            if report.errors:
                for error in report.errors:
                    self.stderr.write(f"  {error}")
                raise CommandError(f"{len(report.errors)} video(s) failed; run the command again to retry them.")
        if config.annotators == 0:
            return
        if campaign.annotators.exists():
            self.stdout.write(f"The campaign already has {campaign.annotators.count()} annotators; no crowd simulated.")
            return
        report = crowd_simulate(
            campaign=campaign, annotators=config.annotators, seed=config.seed,
            days=days if days is not None else (2.0 if size == "small" else 10.0),
            # Several simulator processes need PostgreSQL and committed data (not a test's transaction).
            workers=crowd_workers or (2 if connection.vendor == "postgresql" and not connection.in_atomic_block else 1),
            progress=lambda it: tqdm(it, desc="annotators", unit="person", disable=quiet),
        )
        self.stdout.write(
            f"Crowd: {report.annotators} annotators, {report.attempts} attempts ({report.qualified} qualified, "
            f"{report.disqualified} disqualified), {report.ratings} ratings in {report.seconds:.1f} s; "
            f"{report.redo_share:.1%} had to redo a session, {report.gave_up} gave up, {report.dropped_out} dropped out."
        )
        if report.refused:
            self.stdout.write("Refused at the lecture: " + ", ".join(f"{k} x{v}" for k, v in report.refused.items()))
        if analyse:
            # Once, right after the crowd: the dashboards and exports then have an analysis to show.
            try:
                call_command("run_analysis", campaign=slug, verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
            except CommandError as exc:
                self.stderr.write(f"The analysis did not complete ({exc}); run `manage.py run_analysis --campaign {slug}`.")
        self.stdout.write(f"Annotators: /c/{slug}/   Progress: /staff/campaigns/{slug}/")
