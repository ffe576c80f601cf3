"""The data benchmark's pandas side: ingest + features, the same work as our stages.

Run by bench/data.ts as `python3 bench/pandas_data.py SPEC.json INPUT.csv OUT_DIR`. The spec
(validation rules, feature schema, split settings) comes from the TypeScript sources, so there
is no second copy of them here. The last printed line is one JSON object with the timings.
"""

import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd


def validate(df, spec):
    """A boolean mask of valid rows and, per row, the name of the first rule it breaks."""
    missing = [c for c in spec["requiredColumns"] if c not in df.columns]
    if missing:
        raise SystemExit(f"input is missing columns {missing}; expected {spec['requiredColumns']}")
    checks = []
    for rule in spec["numericRules"]:
        column = rule["column"]
        values = df[column]
        if values.dtype == object:
            values = pd.to_numeric(values, errors="coerce")
        ok = values.notna()
        if "min" in rule:
            ok &= values >= rule["min"]
        if "max" in rule:
            ok &= values <= rule["max"]
        if "above" in rule:
            ok &= values > rule["above"]
        if rule.get("imputed"):
            ok |= values.isna()
        checks.append((column, ok.to_numpy()))
    category = spec["category"]
    checks.append((category["column"], df[category["column"]].isin(category["values"]).to_numpy()))
    valid = np.logical_and.reduce([ok for _, ok in checks])
    return valid, checks


def ingest(input_path, out_dir, spec):
    df = pd.read_csv(input_path)
    valid, checks = validate(df, spec)
    bad = ~valid
    quarantined = df[bad].copy()
    reasons = np.full(len(df), "", dtype=object)
    for column, ok in reversed(checks):
        reasons[~ok] = column
    quarantined.insert(0, "reason", reasons[bad])
    # CSV line numbers: the header is line 1.
    quarantined.insert(0, "line", np.flatnonzero(bad) + 2)
    share = bad.sum() / max(len(df), 1)
    if share > spec["maxQuarantineShare"]:
        raise SystemExit(
            f"{input_path}: {bad.sum()} of {len(df)} rows failed validation "
            f"({share:.4%}), more than the allowed {spec['maxQuarantineShare']:.4%}"
        )
    clean = df[valid].reset_index(drop=True)
    clean.insert(0, "row", np.flatnonzero(valid) + 2)
    medians = {}
    for rule in spec["numericRules"]:
        if rule.get("imputed"):
            medians[rule["column"]] = float(clean[rule["column"]].median())
            clean[rule["column"]] = clean[rule["column"]].fillna(medians[rule["column"]])
    clean.to_parquet(os.path.join(out_dir, "clean.parquet"), index=False)
    quarantined.to_csv(os.path.join(out_dir, "quarantine.csv"), index=False)
    report = {"rows": len(df), "kept": len(clean), "quarantined": int(bad.sum()), "imputation": medians}
    with open(os.path.join(out_dir, "ingest.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report


def features(ingest_dir, out_dir, spec, imputation):
    schema = {**spec["schema"], "imputation": imputation}
    df = pd.read_parquet(os.path.join(ingest_dir, "clean.parquet"))
    out = pd.DataFrame({"row": df["row"]})
    for name in schema["numericInputs"]:
        out[name] = df[name].astype("float64")
    for ratio in schema["ratios"]:
        out[ratio["name"]] = out[ratio["numerator"]] / out[ratio["denominator"]]
    category = schema["category"]
    for value in category["values"]:
        out[category["featurePrefix"] + value] = (df[category["column"]] == value).astype("float64")
    out[schema["target"]] = df[schema["target"]].astype("float64")
    # A hash of each row's raw values decides its side, so the split is stable across runs.
    key = f"{spec['seed']:016d}"[-16:]
    hashes = pd.util.hash_pandas_object(
        df[schema["numericInputs"] + [category["column"], schema["target"]]],
        index=False,
        hash_key=key,
    ).to_numpy()
    is_test = (hashes % np.uint64(1_000_000)) < int(spec["testFraction"] * 1_000_000)
    out["split"] = np.where(is_test, "test", "train")
    out.to_parquet(os.path.join(out_dir, "features.parquet"), index=False)
    with open(os.path.join(out_dir, "feature_schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
    split = {"train": int((~is_test).sum()), "test": int(is_test.sum())}
    with open(os.path.join(out_dir, "split.json"), "w") as f:
        json.dump(split, f, indent=2)
    return split


def main():
    spec_path, input_path, out_dir = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    ingest_dir = os.path.join(out_dir, "ingest")
    features_dir = os.path.join(out_dir, "features")
    os.makedirs(ingest_dir, exist_ok=True)
    os.makedirs(features_dir, exist_ok=True)
    start = time.perf_counter()
    report = ingest(input_path, ingest_dir, spec)
    ingested = time.perf_counter()
    split = features(ingest_dir, features_dir, spec, report["imputation"])
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "ingest_s": ingested - start,
                "features_s": done - ingested,
                "total_s": done - start,
                # ru_maxrss is in KiB on Linux.
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "kept": report["kept"],
                "quarantined": report["quarantined"],
                "train": split["train"],
                "test": split["test"],
            }
        )
    )


if __name__ == "__main__":
    main()
