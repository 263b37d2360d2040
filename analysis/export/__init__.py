"""Versioned dataset exports of a campaign, built as a job of the runner (kind "export").

An export is a folder (the job's artifact folder; `manage.py export_dataset SLUG --out DIR`
copies it out):

    manifest.json                  counts, parameters, QC rule, analysis run, code version, SHA-256 of every file
    videos.csv / videos.parquet    one row per rated video (checkers included): pseudonymous name, labels,
                                   MOS, SOS, n, 95% CI of the included ratings, the 37-share category vector
    ratings.csv / ratings.parquet  one row per included rating: pseudonymous annotator and answers, attempt,
                                   outcome, grade, stored reason, typed text, seconds, playback facts
    splits/<k>/{train,test1,test2,test3}.csv, splits/<k>/split.json   the paper's splits, k = 0..splits-1
    sureal/dataset.json            the ratings in sureal's dataset format
    videos/<video>.mp4             the transcoded videos, when asked for

Modules: parameters (typed parameters), splits (the split protocol, pure), videostats (per-video
sums, pure), sureal (sureal's format), tables (columns and types), files (CSV/Parquet writing,
hashes), manifest, stages (the job kind), services, selectors.
"""
