"""RULER-core (spec §5.4): four long-context probes (needle, variable tracking, common and frequent
words) for the byte-level LMs, an infrastructure check that the paper reports no score for (E10, D18)."""
