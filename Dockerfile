# Image for docker-compose.yaml: Airflow 3.3 with this project's pinned dependencies and library.
# Cloud Composer does not use this file: it installs requirements.txt on its own Airflow image.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt requirements-dev.txt constraints.txt pyproject.toml README.md /opt/project/
COPY --chown=airflow:root include /opt/project/include
WORKDIR /opt/project
# Editable, so the ./include mount of docker-compose.yaml is what runs. The install also records the
# package's apache_airflow_provider entry point: every component gets the hook, trigger and console link
# from it, as Composer does from the wheel (rebuild the image when pyproject.toml changes).
RUN pip install --no-cache-dir -c constraints.txt -r requirements-dev.txt
COPY --chown=airflow:root devtools /opt/project/devtools
WORKDIR /opt/airflow
