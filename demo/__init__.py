"""The demo study: synthetic face-swap videos with known realism, and a simulated crowd (docs/synthetic_study.md).

An app of its own, on top of annotation (the ingest, the workflow services) and analysis (the
reasons taxonomy), so that annotating needs neither OpenCV nor the analysis. Modules: faces (drawn
identities), swaps (methods and artifact operators), realism (the ground truth), study (the plan),
build (rendering and import through the ingest), wording (reasons), crowd (the annotator model and
the simulator), models (SyntheticTruth, each video's known truth). Commands: make_demo_study,
make_demo_campaign. Nothing is re-exported: a name says where it lives.
"""
