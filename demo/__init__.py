"""The demo study: synthetic face-swap videos with known realism, and a simulated crowd (docs/synthetic_study.md).

faces (drawn identities), swaps (methods and artifact operators), realism (the ground truth),
study (the plan), build (rendering and import through the ingest), wording (reasons), crowd (the
annotator model and the simulator). Nothing is re-exported: a name says where it lives.
"""
