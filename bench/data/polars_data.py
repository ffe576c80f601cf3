"""The data benchmark's polars (Python) side; see peer.py for what it does and how it is run."""

import os

import polars as pl

import peer


def rule_ok(rule):
    """True where the value passes the rule; an empty value passes only an imputed column."""
    value = pl.col(rule["column"])
    ok = value.is_finite()
    if "min" in rule:
        ok = ok & (value >= rule["min"])
    if "above" in rule:
        ok = ok & (value > rule["above"])
    if "max" in rule:
        ok = ok & (value <= rule["max"])
    ok = ok.fill_null(False)
    return value.is_null() | ok if rule.get("imputed") else ok


def ingest(_, input_path, out_dir, spec):
    category = spec["category"]
    types = {column: pl.Float64 for column in peer.numeric_columns(spec)}
    types[category["column"]] = pl.String
    raw = pl.read_csv(input_path, schema_overrides=types).with_row_index("row", offset=2)
    oks = [rule_ok(rule) for rule in spec["numericRules"]]
    oks.append(pl.col(category["column"]).is_in(category["values"]).fill_null(False))
    reason = pl.when(~oks[0]).then(pl.lit(peer.rule_columns(spec)[0]))
    for ok, column in zip(oks[1:], peer.rule_columns(spec)[1:]):
        reason = reason.when(~ok).then(pl.lit(column))
    checked = raw.with_columns(reason.otherwise(None).alias("reason"))
    failing = checked.filter(pl.col("reason").is_not_null())
    kept = checked.filter(pl.col("reason").is_null()).drop("reason")
    peer.check_share(input_path, raw.height, failing.height, spec)
    failing.select("row", "reason", *spec["requiredColumns"]).write_csv(
        os.path.join(out_dir, "quarantine.csv")
    )
    imputed = [rule["column"] for rule in spec["numericRules"] if rule.get("imputed")]
    median = kept.get_column(imputed[0]).median()
    kept.with_columns(pl.col(column).fill_null(median) for column in imputed).write_parquet(
        os.path.join(out_dir, "clean.parquet")
    )
    return {"read": raw.height, "kept": kept.height, "quarantined": failing.height, "median": median}


def features(_, ingest_dir, out_dir, spec, median):
    schema = spec["schema"]
    category = schema["category"]
    key = pl.struct(schema["numericInputs"] + [category["column"], schema["target"]])
    bucket = key.hash(spec["seed"]) % peer.SPLIT_BUCKETS
    path = os.path.join(out_dir, "features.parquet")
    pl.scan_parquet(os.path.join(ingest_dir, "clean.parquet")).select(
        pl.col("row"),
        *(pl.col(name).cast(pl.Float64) for name in schema["numericInputs"]),
        *(
            (pl.col(r["numerator"]).cast(pl.Float64) / pl.col(r["denominator"])).alias(r["name"])
            for r in schema["ratios"]
        ),
        *(
            (pl.col(category["column"]) == value).cast(pl.Float64).alias(category["featurePrefix"] + value)
            for value in category["values"]
        ),
        pl.col(schema["target"]).cast(pl.Float64),
        pl.when(bucket < peer.test_buckets(spec)).then(pl.lit("test")).otherwise(pl.lit("train")).alias("split"),
    ).sink_parquet(path)
    sides = pl.scan_parquet(path).select(
        (pl.col("split") == "train").sum().alias("train"),
        (pl.col("split") == "test").sum().alias("test"),
    ).collect()
    return sides.to_dicts()[0]


if __name__ == "__main__":
    peer.run("polars", pl.__version__, ingest, features)
