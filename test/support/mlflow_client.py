"""Scores records with MLflow's own scoring-server client, as an MLflow user would.

Usage: python mlflow_client.py HOST PORT RECORDS_JSON
Builds a pandas DataFrame from the records (a null becomes NaN in a numeric column), sends it with
mlflow.pyfunc.scoring_server.client.ScoringServerClient to POST /invocations, and prints one JSON
line: the body the client sends for that DataFrame and the predictions it got back.
"""

import json
import sys

import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from mlflow.utils.proto_json_utils import dump_input_data


def main() -> None:
    host, port, records = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    frame = pd.DataFrame.from_records(records)
    client = ScoringServerClient(host, port)
    response = client.invoke(frame)
    # The same serialization invoke() just used: the test checks it really carries NaN.
    print(json.dumps({"body": dump_input_data(frame), "predictions": response["predictions"]}))


if __name__ == "__main__":
    main()
