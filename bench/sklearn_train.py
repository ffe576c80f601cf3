"""sklearn side of `npm run bench -- train`: fits RandomForestRegressor on the bench's split.

Usage: sklearn_train.py DATA_DIR [--trees N] [--seed S] [--jobs 1,-1] [--repeat N]
DATA_DIR holds train_x.bin, train_y.bin, test_x.bin, test_y.bin (little-endian float64, x
row-major) and shape.json ({"train_rows", "test_rows", "features"}). Prints one JSON object.
"""

import argparse
import json
import os
import pickle
import resource
import sys
import time

try:
    import numpy as np
    from sklearn import __version__ as sklearn_version
    from sklearn.ensemble import RandomForestRegressor
except ImportError as error:
    sys.exit(
        f"sklearn_train.py: {error}; install scikit-learn, e.g. "
        "`apt-get update && apt-get install -y python3-sklearn` (then run with /usr/bin/python3)"
    )


def load(data_dir, name, rows, features):
    x = np.fromfile(os.path.join(data_dir, f"{name}_x.bin"), dtype="<f8").reshape(rows, features)
    y = np.fromfile(os.path.join(data_dir, f"{name}_y.bin"), dtype="<f8")
    return x, y


def predict_one_us(model, row, repeats=200):
    model.set_params(n_jobs=1)
    model.predict(row)
    started = time.perf_counter()
    for _ in range(repeats):
        model.predict(row)
    return (time.perf_counter() - started) / repeats * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--jobs", default="1,-1", help="comma-separated n_jobs values to time")
    parser.add_argument("--repeat", type=int, default=1, help="report the best of this many fits")
    args = parser.parse_args()

    with open(os.path.join(args.data_dir, "shape.json")) as f:
        shape = json.load(f)
    x_train, y_train = load(args.data_dir, "train", shape["train_rows"], shape["features"])
    x_test, y_test = load(args.data_dir, "test", shape["test_rows"], shape["features"])

    result = {"sklearn_version": sklearn_version, "fits": []}
    for jobs in [int(j) for j in args.jobs.split(",")]:
        model = RandomForestRegressor(
            n_estimators=args.trees,
            max_depth=None,
            max_features=1.0,
            bootstrap=True,
            n_jobs=jobs,
            random_state=args.seed,
        )
        fit_s = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            model.fit(x_train, y_train)
            fit_s = min(fit_s, time.perf_counter() - started)
        rmse = float(np.sqrt(np.mean((model.predict(x_test) - y_test) ** 2)))
        result["fits"].append({"n_jobs": jobs, "fit_s": fit_s, "rmse": rmse})
    result["pickle_mb"] = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
    result["predict_one_us"] = predict_one_us(model, x_test[:1])
    result["nodes"] = int(sum(tree.tree_.node_count for tree in model.estimators_))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
