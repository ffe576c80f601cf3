"""The data benchmark's DuckDB side; see peer.py for what it does and how it is run."""

import os

import duckdb

import peer


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def text(value):
    return "'" + value.replace("'", "''") + "'"


def rule_ok(rule):
    """SQL true where the value passes the rule; an empty value passes only an imputed column."""
    value = ident(rule["column"])
    tests = [f"isfinite({value})"]
    if "min" in rule:
        tests.append(f"{value} >= {rule['min']}")
    if "above" in rule:
        tests.append(f"{value} > {rule['above']}")
    if "max" in rule:
        tests.append(f"{value} <= {rule['max']}")
    ok = f"coalesce({' AND '.join(tests)}, false)"
    return f"({value} IS NULL OR {ok})" if rule.get("imputed") else ok


def ingest(db, input_path, out_dir, spec):
    category = spec["category"]
    types = {column: "DOUBLE" for column in peer.numeric_columns(spec)}
    types[category["column"]] = "VARCHAR"
    header = peer.check_header(input_path, spec)
    columns = "{" + ", ".join(f"{text(c)}: {text(types.get(c, 'VARCHAR'))}" for c in header) + "}"
    oks = [rule_ok(rule) for rule in spec["numericRules"]]
    values = ", ".join(text(value) for value in category["values"])
    oks.append(f"coalesce({ident(category['column'])} IN ({values}), false)")
    reasons = " ".join(
        f"WHEN NOT {ok} THEN {text(column)}" for ok, column in zip(oks, peer.rule_columns(spec))
    )
    # A table's rowid follows the order rows were inserted in: the file's, so row = line number.
    db.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv({text(input_path)}, header = true, columns = {columns})")
    db.execute(f"CREATE TABLE checked AS SELECT rowid + 2 AS row, *, CASE {reasons} END AS reason FROM raw")
    imputed = [rule["column"] for rule in spec["numericRules"] if rule.get("imputed")]
    read, kept, median = db.execute(
        f"SELECT count(*), count(*) FILTER (reason IS NULL), "
        f"median({ident(imputed[0])}) FILTER (reason IS NULL) FROM checked"
    ).fetchone()
    peer.check_share(input_path, read, read - kept, spec)
    required = ", ".join(ident(c) for c in spec["requiredColumns"])
    db.execute(
        f"COPY (SELECT row, reason, {required} FROM checked WHERE reason IS NOT NULL ORDER BY row) "
        f"TO {text(os.path.join(out_dir, 'quarantine.csv'))} (HEADER, DELIMITER ',')"
    )
    kept_columns = ", ".join(
        f"coalesce({ident(c)}, {median}) AS {ident(c)}" if c in imputed else ident(c)
        for c in peer.rule_columns(spec)
    )
    db.execute(
        f"COPY (SELECT row, {kept_columns} FROM checked WHERE reason IS NULL) "
        f"TO {text(os.path.join(out_dir, 'clean.parquet'))} (FORMAT parquet)"
    )
    return {"read": read, "kept": kept, "quarantined": read - kept, "median": median}


def features(db, ingest_dir, out_dir, spec, median):
    schema = spec["schema"]
    category = schema["category"]
    key = ", ".join(ident(c) for c in schema["numericInputs"] + [category["column"], schema["target"]])
    selected = ", ".join(
        ["row"]
        + [f"CAST({ident(n)} AS DOUBLE) AS {ident(n)}" for n in schema["numericInputs"]]
        + [
            f"CAST({ident(r['numerator'])} AS DOUBLE) / {ident(r['denominator'])} AS {ident(r['name'])}"
            for r in schema["ratios"]
        ]
        + [
            f"CAST({ident(category['column'])} = {text(v)} AS DOUBLE) AS {ident(category['featurePrefix'] + v)}"
            for v in category["values"]
        ]
        + [
            f"CAST({ident(schema['target'])} AS DOUBLE) AS {ident(schema['target'])}",
            f"CASE WHEN hash({spec['seed']}, {key}) % {peer.SPLIT_BUCKETS} < {peer.test_buckets(spec)} "
            "THEN 'test' ELSE 'train' END AS split",
        ]
    )
    clean = text(os.path.join(ingest_dir, "clean.parquet"))
    path = text(os.path.join(out_dir, "features.parquet"))
    db.execute(f"COPY (SELECT {selected} FROM read_parquet({clean})) TO {path} (FORMAT parquet)")
    train, test = db.execute(
        f"SELECT count(*) FILTER (split = 'train'), count(*) FILTER (split = 'test') FROM read_parquet({path})"
    ).fetchone()
    return {"train": train, "test": test}


if __name__ == "__main__":
    peer.run("duckdb", duckdb.__version__, ingest, features, start=duckdb.connect)
