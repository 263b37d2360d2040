"""Pure statistics of opinion scores (MOS, SOS, consistency, subject models, reasons): no Django here.

Every function takes long-format ratings, one row per rating, as a pandas DataFrame (or a mapping of
equal-length arrays) with the columns `video`, `annotator`, `score` and, where a statistic needs
them, `attempt`, `qualified`, `is_fake`, `seconds`, `age`, `gender`, `education`,
`prior_knowledge`, `content` and `reason`. Results are arrays, frames or frozen dataclasses.

Import from the modules themselves (`from analysis.stats.opinion import opinion_scores`); this
package re-exports nothing so that a name always says where it lives.
"""
