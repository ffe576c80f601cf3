"""Seed-style FastAPI anchor for `npm run bench -- serve`.

Usage: fastapi_serve.py DATA_DIR --port PORT [--trees N] [--seed S] [--host HOST]
       fastapi_serve.py DATA_DIR --train-only [--trees N] [--seed S]

DATA_DIR holds train_x.bin, train_y.bin (little-endian float64, x row-major), shape.json
({"train_rows", "features"}) and feature_schema.json (the features stage's schema). Trains a
RandomForestRegressor on that split unless DATA_DIR/anchor.pkl exists, pickles it, loads the
pickle as the seed's app did, and serves POST /predict with one uvicorn worker. Features are
computed from the raw payload with the schema's rules in plain Python (no pandas).
--train-only writes the pickle and exits (`npm run bench -- deploy` bakes it into the anchor's
image, which runs this file).
"""

import argparse
import json
import os
import pickle
import sys
from typing import Optional

try:
    import numpy as np
    import uvicorn
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel
    from sklearn.ensemble import RandomForestRegressor
except ImportError as error:
    sys.exit(f"fastapi_serve.py: {error}; run it through `npm run bench -- serve`, which installs bench/requirements.txt")


def train(data_dir, trees, seed):
    with open(os.path.join(data_dir, "shape.json")) as handle:
        shape = json.load(handle)
    rows, features = shape["train_rows"], shape["features"]
    x = np.fromfile(os.path.join(data_dir, "train_x.bin"), dtype="<f8").reshape(rows, features)
    y = np.fromfile(os.path.join(data_dir, "train_y.bin"), dtype="<f8")
    model = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=-1)
    model.fit(x, y)
    # Serve like the seed: the model's default (sequential) prediction.
    model.set_params(n_jobs=None)
    return model


class Record(BaseModel):
    longitude: float
    latitude: float
    housing_median_age: float
    total_rooms: float
    total_bedrooms: Optional[float] = None
    population: float
    households: float
    median_income: float
    ocean_proximity: str


def feature_row(record, schema):
    values = record.model_dump()
    inputs = {}
    for name in schema["numericInputs"]:
        value = values.get(name)
        inputs[name] = schema["imputation"][name] if value is None else value
    row = [inputs[name] for name in schema["numericInputs"]]
    row += [inputs[r["numerator"]] / inputs[r["denominator"]] for r in schema["ratios"]]
    category = values[schema["category"]["column"]]
    if category not in schema["category"]["values"]:
        raise HTTPException(status_code=422, detail=f"ocean_proximity: {category!r} is not allowed")
    row += [1.0 if category == value else 0.0 for value in schema["category"]["values"]]
    return row


def create_app(model, schema):
    app = FastAPI()

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.post("/predict")
    def predict(record: Record):
        price = float(model.predict([feature_row(record, schema)])[0])
        return {"predicted_price": price, "model_version": "anchor"}

    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.port is None and not args.train_only:
        parser.error("--port is required unless --train-only is given")
    with open(os.path.join(args.data_dir, "feature_schema.json")) as handle:
        schema = json.load(handle)
    pickle_path = os.path.join(args.data_dir, f"anchor-{args.trees}-{args.seed}.pkl")
    if not os.path.exists(pickle_path):
        model = train(args.data_dir, args.trees, args.seed)
        with open(f"{pickle_path}.tmp", "wb") as handle:
            pickle.dump(model, handle)
        os.replace(f"{pickle_path}.tmp", pickle_path)
    if args.train_only:
        print(pickle_path)
        return
    with open(pickle_path, "rb") as handle:
        model = pickle.load(handle)
    uvicorn.run(create_app(model, schema), host=args.host, port=args.port, workers=1,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
