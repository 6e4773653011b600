# One image for every Python role of rollcourt (docker-compose.yml; README "docker compose").
# Each service runs `python -m <package>` from /app: l1 (node, light), sequencer (also
# --follow), challenger, prover, explorer. Node.js is here for the prover only (the circuit's
# setup and diagnosis use the npm tooling pinned in prover/package-lock.json).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's Node.js (18 on bookworm: the prover needs >= 18) and npm.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The prover's JavaScript pieces first (a layer that changes only with the lockfile).
COPY prover/package.json prover/package-lock.json prover/
RUN npm ci --prefix prover --no-audit --no-fund --loglevel=error

# The Python package with the prover extra (groth16py). The roles run from /app, the source
# tree: the prover reads prover/circuits and prover/node_modules next to its package.
COPY . .
RUN pip install ".[prover]"

# One unprivileged user; each role's named volume is mounted at /data (owned by it).
RUN useradd --create-home --uid 10001 rollcourt \
    && mkdir -p /data \
    && chown rollcourt:rollcourt /data
USER rollcourt
VOLUME ["/data"]

# L1 node, light client, sequencer, follower, validity sequencer, challenger, prover, explorer.
EXPOSE 8114 8124 8200 8201 8300 8400 8500

# No entrypoint: each compose service gives its whole command (`python -m <package> ...`).
CMD ["python", "-m", "rollcourt", "--help"]
