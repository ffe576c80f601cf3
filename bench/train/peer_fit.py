"""The Python peers of `npm run bench -- train`: one fit of one engine on the bench's split.

Usage: peer_fit.py DATA_DIR --engine sklearn|xgboost-rf|lightgbm-rf [--trees N] [--seed S]
       [--jobs N] [--repeat N] [--predict-calls N --predict-warmup N]

DATA_DIR holds train_x.bin, train_y.bin, test_x.bin, test_y.bin (little-endian float64, x
row-major) and shape.json ({"train_rows", "test_rows", "features"}). Every engine grows fully
grown trees on bootstrap-like samples with every feature tried at each split, as ours does:
- sklearn: RandomForestRegressor(max_depth=None, max_features=1.0, bootstrap=True).
- xgboost-rf: XGBRFRegressor, depthwise hist trees with max_depth=0 (no limit) and
  min_child_weight=1 (one row per leaf, squared error); rows subsampled to 63.2% without
  replacement per tree, the share of distinct rows in a bootstrap sample (XGBoost has no bootstrap).
- lightgbm-rf: LGBMRegressor(boosting_type="rf") with as many leaves allowed as there are training
  rows (a tree can have no more) and min one row per leaf, bagging 63.2% of the rows per tree
  (LightGBM has no bootstrap either).
The last printed line is one JSON object.
"""

import argparse
import json
import os
import pickle
import resource
import time

import numpy as np


def load(data_dir, name, rows, features):
    x = np.fromfile(os.path.join(data_dir, f"{name}_x.bin"), dtype="<f8").reshape(rows, features)
    y = np.fromfile(os.path.join(data_dir, f"{name}_y.bin"), dtype="<f8")
    return x, y


def make_model(engine, trees, seed, jobs, rows):
    if engine == "sklearn":
        from sklearn import __version__ as version
        from sklearn.ensemble import RandomForestRegressor

        model = RandomForestRegressor(
            n_estimators=trees, max_depth=None, max_features=1.0, bootstrap=True,
            n_jobs=jobs, random_state=seed,
        )
        return model, version
    if engine == "xgboost-rf":
        import xgboost

        model = xgboost.XGBRFRegressor(
            n_estimators=trees, max_depth=0, min_child_weight=1, tree_method="hist",
            subsample=0.632, colsample_bynode=1.0, n_jobs=jobs, random_state=seed,
        )
        return model, xgboost.__version__
    if engine == "lightgbm-rf":
        import lightgbm

        model = lightgbm.LGBMRegressor(
            boosting_type="rf", n_estimators=trees, num_leaves=min(rows, 131072), max_depth=-1,
            min_child_samples=1, min_child_weight=0, subsample=0.632, subsample_freq=1,
            colsample_bytree=1.0, reg_lambda=0, n_jobs=jobs, random_state=seed, verbose=-1,
        )
        return model, lightgbm.__version__
    raise SystemExit(f"--engine: {engine!r} is not one of sklearn, xgboost-rf, lightgbm-rf")


def predict_one_us(model, x_test, calls, warmup):
    """Per-row public predict calls on test rows, in the same order and count as ours."""
    rows = [x_test[i : i + 1] for i in range(len(x_test))]
    for i in range(warmup):
        model.predict(rows[(i * 7919) % len(rows)])
    started = time.perf_counter()
    for i in range(calls):
        model.predict(rows[(i * 7919) % len(rows)])
    return (time.perf_counter() - started) / calls * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--engine", required=True)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jobs", type=int, default=-1, help="n_jobs: -1 for every core")
    parser.add_argument("--repeat", type=int, default=1, help="report the best of this many fits")
    parser.add_argument("--predict-calls", type=int, default=0)
    parser.add_argument("--predict-warmup", type=int, default=0)
    args = parser.parse_args()

    with open(os.path.join(args.data_dir, "shape.json")) as handle:
        shape = json.load(handle)
    x_train, y_train = load(args.data_dir, "train", shape["train_rows"], shape["features"])
    x_test, y_test = load(args.data_dir, "test", shape["test_rows"], shape["features"])

    fit_s = float("inf")
    for _ in range(args.repeat):
        model, version = make_model(args.engine, args.trees, args.seed, args.jobs, len(y_train))
        started = time.perf_counter()
        model.fit(x_train, y_train)
        fit_s = min(fit_s, time.perf_counter() - started)
    rmse = float(np.sqrt(np.mean((model.predict(x_test) - y_test) ** 2)))
    result = {"engine": args.engine, "version": version, "jobs": args.jobs, "fit_s": fit_s, "rmse": rmse}
    if args.engine == "sklearn":
        result["pickle_mb"] = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
        result["nodes"] = int(sum(tree.tree_.node_count for tree in model.estimators_))
    if args.predict_calls > 0:
        # One row at a time is served sequentially, as the seed's service did.
        if args.engine == "sklearn":
            model.set_params(n_jobs=1)
        result["predict_one_us"] = predict_one_us(model, x_test, args.predict_calls, args.predict_warmup)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
