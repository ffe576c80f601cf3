"""The data benchmark's pandas side (pyarrow CSV reader); see peer.py for what it does and how."""

import os

import numpy as np
import pandas as pd

import peer


def rule_ok(values, rule):
    """True where the value passes the rule; an empty value passes only an imputed column."""
    ok = np.isfinite(values)
    if "min" in rule:
        ok &= values >= rule["min"]
    if "above" in rule:
        ok &= values > rule["above"]
    if "max" in rule:
        ok &= values <= rule["max"]
    return (ok | values.isna() if rule.get("imputed") else ok).to_numpy()


def ingest(_, input_path, out_dir, spec):
    category = spec["category"]
    types = {column: "float64" for column in peer.numeric_columns(spec)}
    types[category["column"]] = "string"
    df = pd.read_csv(input_path, engine="pyarrow", dtype=types)
    oks = [rule_ok(df[rule["column"]], rule) for rule in spec["numericRules"]]
    oks.append(df[category["column"]].isin(category["values"]).fillna(False).to_numpy(dtype=bool))
    valid = np.logical_and.reduce(oks)
    bad = ~valid
    read, quarantined = len(df), int(bad.sum())
    peer.check_share(input_path, read, quarantined, spec)
    # The first rule a row breaks: later rules are written first, earlier ones over them.
    reasons = np.full(read, None, dtype=object)
    for ok, column in reversed(list(zip(oks, peer.rule_columns(spec)))):
        reasons[~ok] = column
    failing = df[bad][spec["requiredColumns"]]
    failing.insert(0, "reason", reasons[bad])
    # CSV line numbers: the header is line 1.
    failing.insert(0, "row", np.flatnonzero(bad) + 2)
    failing.to_csv(os.path.join(out_dir, "quarantine.csv"), index=False)
    clean = df[valid].reset_index(drop=True)
    clean.insert(0, "row", np.flatnonzero(valid) + 2)
    imputed = [rule["column"] for rule in spec["numericRules"] if rule.get("imputed")]
    median = float(clean[imputed[0]].median())
    for column in imputed:
        clean[column] = clean[column].fillna(median)
    clean.to_parquet(os.path.join(out_dir, "clean.parquet"), index=False)
    return {"read": read, "kept": len(clean), "quarantined": quarantined, "median": median}


def features(_, ingest_dir, out_dir, spec, median):
    schema = spec["schema"]
    category = schema["category"]
    df = pd.read_parquet(os.path.join(ingest_dir, "clean.parquet"))
    out = pd.DataFrame({"row": df["row"]})
    for name in schema["numericInputs"]:
        out[name] = df[name].astype("float64")
    for ratio in schema["ratios"]:
        out[ratio["name"]] = out[ratio["numerator"]] / out[ratio["denominator"]]
    for value in category["values"]:
        out[category["featurePrefix"] + value] = (df[category["column"]] == value).astype("float64")
    out[schema["target"]] = df[schema["target"]].astype("float64")
    # pandas' row hash takes a 16-character key: the seed, zero-padded.
    hashes = pd.util.hash_pandas_object(
        df[schema["numericInputs"] + [category["column"], schema["target"]]],
        index=False,
        hash_key=f"{spec['seed']:016d}"[-16:],
    ).to_numpy()
    is_test = (hashes % np.uint64(peer.SPLIT_BUCKETS)) < peer.test_buckets(spec)
    out["split"] = np.where(is_test, "test", "train")
    out.to_parquet(os.path.join(out_dir, "features.parquet"), index=False)
    sides = pd.read_parquet(os.path.join(out_dir, "features.parquet"), columns=["split"])["split"]
    return {"train": int((sides == "train").sum()), "test": int((sides == "test").sum())}


if __name__ == "__main__":
    peer.run("pandas", pd.__version__, ingest, features)
