"""The data benchmark's Spark side, local mode on every core (the seed's engine); see peer.py.

Spark runs on the machine's Java, 17 or newer. Its start-up (the JVM and the session) is timed
apart from the work, as startup_s; its peak memory is Python's plus the JVM's. Spark's CSV reader has no line numbers: rows carry
monotonically_increasing_id() instead. Its outputs are folders of part files, as Spark writes.
"""

import os
import sys

import pyspark
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

import peer


def start():
    # Python workers, if Spark ever starts any, run this same interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Local mode talks to itself only: on loopback, not on the machine's network address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("bench-data")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        # One shuffle partition per core, not Spark's 200 meant for clusters.
        .config("spark.sql.shuffle.partitions", str(os.cpu_count()))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def rule_ok(rule):
    """True where the value passes the rule; an empty value passes only an imputed column."""
    value = F.col(rule["column"])
    ok = ~F.isnan(value) & (F.abs(value) != float("inf"))
    if "min" in rule:
        ok = ok & (value >= rule["min"])
    if "above" in rule:
        ok = ok & (value > rule["above"])
    if "max" in rule:
        ok = ok & (value <= rule["max"])
    ok = F.coalesce(ok, F.lit(False))
    return value.isNull() | ok if rule.get("imputed") else ok


def ingest(spark, input_path, out_dir, spec):
    category = spec["category"]
    numeric = set(peer.numeric_columns(spec))
    header = peer.check_header(input_path, spec)
    schema = T.StructType(
        [T.StructField(c, T.DoubleType() if c in numeric else T.StringType()) for c in header]
    )
    raw = spark.read.csv(input_path, header=True, schema=schema)
    oks = [rule_ok(rule) for rule in spec["numericRules"]]
    oks.append(F.coalesce(F.col(category["column"]).isin(category["values"]), F.lit(False)))
    reason = F.when(~oks[0], F.lit(peer.rule_columns(spec)[0]))
    for ok, column in zip(oks[1:], peer.rule_columns(spec)[1:]):
        reason = reason.when(~ok, F.lit(column))
    checked = raw.select(
        F.monotonically_increasing_id().alias("row"), *spec["requiredColumns"], reason.alias("reason")
    ).cache()
    imputed = [rule["column"] for rule in spec["numericRules"] if rule.get("imputed")]
    kept_rows = F.col("reason").isNull()
    stats = checked.agg(
        F.count(F.lit(1)).alias("read"),
        F.sum(kept_rows.cast("long")).alias("kept"),
        F.median(F.when(kept_rows, F.col(imputed[0]))).alias("median"),
    ).first()
    read, kept, median = stats["read"], stats["kept"], stats["median"]
    peer.check_share(input_path, read, read - kept, spec)
    checked.filter(~kept_rows).select("row", "reason", *spec["requiredColumns"]).coalesce(1).write.csv(
        os.path.join(out_dir, "quarantine.csv"), header=True, mode="overwrite"
    )
    checked.filter(kept_rows).select("row", *peer.rule_columns(spec)).fillna(
        median, subset=imputed
    ).write.parquet(os.path.join(out_dir, "clean.parquet"), mode="overwrite")
    checked.unpersist()
    return {"read": read, "kept": kept, "quarantined": read - kept, "median": median}


def features(spark, ingest_dir, out_dir, spec, median):
    schema = spec["schema"]
    category = schema["category"]
    clean = spark.read.parquet(os.path.join(ingest_dir, "clean.parquet"))
    key = [F.col(c) for c in schema["numericInputs"] + [category["column"], schema["target"]]]
    bucket = F.pmod(F.xxhash64(F.lit(spec["seed"]), *key), F.lit(peer.SPLIT_BUCKETS))
    path = os.path.join(out_dir, "features.parquet")
    clean.select(
        F.col("row"),
        *(F.col(n).cast("double").alias(n) for n in schema["numericInputs"]),
        *(
            (F.col(r["numerator"]).cast("double") / F.col(r["denominator"])).alias(r["name"])
            for r in schema["ratios"]
        ),
        *(
            (F.col(category["column"]) == v).cast("double").alias(category["featurePrefix"] + v)
            for v in category["values"]
        ),
        F.col(schema["target"]).cast("double").alias(schema["target"]),
        F.when(bucket < peer.test_buckets(spec), F.lit("test")).otherwise(F.lit("train")).alias("split"),
    ).write.parquet(path, mode="overwrite")
    sides = spark.read.parquet(path).agg(
        F.sum((F.col("split") == "train").cast("long")).alias("train"),
        F.sum((F.col("split") == "test").cast("long")).alias("test"),
    ).first()
    return {"train": sides["train"], "test": sides["test"]}


def jvm_rss_kib(spark):
    """The JVM's peak RSS (VmHWM), read from /proc while it still runs."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    peer.run("spark", pyspark.__version__, ingest, features, start=start, helper_rss_kib=jvm_rss_kib)
