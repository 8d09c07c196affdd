# sopflow application image: one image, one process per container.
#   api          sopflow api          (default CMD; port 8000)
#   worker       sopflow worker       (scale horizontally)
#   simulators   sopflow simulators   (port 8100)
#   migrate      sopflow migrate && sopflow seed-demo   (one-shot)
# Build: docker build -t sopflow .   (docker-compose.yml builds it for you)

# ---- build: install the project and its dependencies into a virtualenv ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what `pip install .` needs: the project metadata and the packages
# listed in pyproject.toml [tool.setuptools.packages.find] (SQL migrations
# and sample documents come along as package data).
COPY pyproject.toml README.md ./
COPY sopflow/ sopflow/
COPY workflows/ workflows/
COPY activities/ activities/
COPY workers/ workers/
COPY api/ api/
COPY domain/ domain/
COPY db/ db/
COPY simulators/ simulators/
RUN pip install . && pip check

# ---- runtime ----
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    SOPFLOW_HOST=0.0.0.0 \
    SOPFLOW_LOG_FORMAT=json

RUN groupadd --system --gid 10001 sopflow \
    && useradd --system --uid 10001 --gid sopflow --home-dir /app --shell /usr/sbin/nologin sopflow \
    && mkdir -p /app \
    && chown sopflow:sopflow /app

COPY --from=build /opt/venv /opt/venv

# Writable working directory for the non-root user (SOPFLOW_DATA_DIR defaults
# to ./.sopflow relative to it).
WORKDIR /app
USER sopflow:sopflow

EXPOSE 8000 8100
CMD ["sopflow", "api"]
