"""What every Python engine of `npm run bench -- data` shares: the arguments, the timing, the output.

Each engine script (polars_data.py, duckdb_data.py, pandas_data.py, spark_data.py) does the work
of our ingest and features stages with its own library: read the CSV, validate every row against
the rules, write the failing rows with their line (or row id) and first broken rule to
quarantine.csv, impute total_bedrooms with the kept rows' median, write clean.parquet; then read
it back, derive the features, split by a seeded hash of each row's values and write
features.parquet. The rules and the feature schema come from the TypeScript sources in SPEC.json
(bench/data.ts writes it), so there is no second copy of them here.

Usage: python ENGINE_data.py SPEC.json INPUT.csv OUT_DIR
The last printed line is one JSON object.
"""

import json
import os
import resource
import sys
import time

SPLIT_BUCKETS = 1_000_000


def numeric_columns(spec):
    return [rule["column"] for rule in spec["numericRules"]]


def rule_columns(spec):
    """The columns in the order their rules apply: a row is reported under the first it breaks."""
    return numeric_columns(spec) + [spec["category"]["column"]]


def test_buckets(spec):
    """A row is in the test set when its hash modulo SPLIT_BUCKETS is below this."""
    return round(spec["testFraction"] * SPLIT_BUCKETS)


def check_share(input_path, read, quarantined, spec):
    share = quarantined / max(read, 1)
    if share > spec["maxQuarantineShare"]:
        raise SystemExit(
            f"{input_path}: {quarantined} of {read} rows ({share:.4%}) failed validation, "
            f"more than the allowed {spec['maxQuarantineShare']:.4%}"
        )


def check_header(input_path, spec):
    with open(input_path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    missing = [column for column in spec["requiredColumns"] if column not in header]
    if missing:
        raise SystemExit(f"{input_path}: missing columns {missing}; expected {spec['requiredColumns']}")
    return header


def run(engine, version, ingest, features, start=None, helper_rss_kib=None):
    """Times start() (an engine's own start-up, e.g. Spark's JVM), ingest and features; prints JSON.

    ingest(context, input_path, out_dir, spec) returns {"read", "kept", "quarantined", "median"};
    features(context, ingest_dir, out_dir, spec, median) returns {"train", "test"};
    helper_rss_kib(context), when given, is the peak RSS of a helper process (Spark's JVM).
    """
    spec_path, input_path, out_dir = sys.argv[1:4]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    check_header(input_path, spec)
    ingest_dir = os.path.join(out_dir, "ingest")
    features_dir = os.path.join(out_dir, "features")
    os.makedirs(ingest_dir, exist_ok=True)
    os.makedirs(features_dir, exist_ok=True)

    began = time.perf_counter()
    context = start() if start else None
    started = time.perf_counter()
    counts = ingest(context, input_path, ingest_dir, spec)
    ingested = time.perf_counter()
    split = features(context, ingest_dir, features_dir, spec, counts["median"])
    done = time.perf_counter()
    # ru_maxrss is in KiB on Linux. A helper process's peak adds to this one's: both were alive.
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if helper_rss_kib:
        rss_kib += helper_rss_kib(context)
    print(
        json.dumps(
            {
                "engine": engine,
                "version": version,
                "startup_s": started - began,
                "ingest_s": ingested - started,
                "features_s": done - ingested,
                "total_s": done - started,
                "max_rss_mb": rss_kib / 1024,
                "read": counts["read"],
                "kept": counts["kept"],
                "quarantined": counts["quarantined"],
                "median": counts["median"],
                "train": split["train"],
                "test": split["test"],
            }
        )
    )
