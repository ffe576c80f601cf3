# syntax=docker/dockerfile:1
# The anchor of `npm run bench -- deploy`: the seed's serving image, FastAPI + uvicorn +
# scikit-learn on python:3.11-slim with the pickled 100-tree RandomForest baked in, serving
# POST /predict (bench/serve/fastapi_serve.py). Part of the benchmark, not of the product.
# The bench builds it from a context folder it fills (.bench/deploy/anchor-context):
#   requirements.txt   the pins of bench/requirements.txt for numpy, scikit-learn, fastapi, uvicorn
#                      (the same versions that pickled the forest)
#   fastapi_serve.py   the service
#   model/             feature_schema.json and anchor-100-42.pkl
# Where Docker Hub cannot be reached, pass the local stand-in (bench/deploy/python-base.ts):
#   --build-arg PYTHON_IMAGE=localhost/house-price-bench-python-base:<tag>
# Behind a TLS-intercepting proxy, hand pip the machine's CA bundle as the build secret `ca`.
# The default is the official tag, not pinned by digest: the anchor is only ever built here.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY requirements.txt ./
# A virtual environment: the official image's pip installs anywhere, Debian's python3 only in a
# venv (PEP 668); both end up with the same packages.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
ENV PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8000
COPY fastapi_serve.py ./
COPY model/ ./model/
EXPOSE 8000
# exec: uvicorn becomes PID 1 and gets the engine's SIGTERM.
CMD ["sh", "-c", "exec python fastapi_serve.py /app/model --host \"$HOST\" --port \"$PORT\""]
