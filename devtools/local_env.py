"""The environment that points the unmodified pipeline at the local emulators.

Cloud vs. local is configuration, not code: these variables are all that differs. They are used by
``make demo``, ``make airflow``, the tests and docker-compose (which sets the same names).

* ``STORAGE_EMULATOR_HOST`` -> fake-gcs-server (google-cloud-storage, gcsfs, Airflow GCS hooks);
* ``AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT`` -> a Google Cloud connection whose credential is a fixed
  access token (google-genai refuses anonymous credentials) and whose ``vertex_ai_base_url`` extra
  points google-genai at the Vertex AI emulator; ``GOOGLE_VERTEX_BASE_URL`` says the same for
  code that builds a client without a connection;
* ``NO_GCE_CHECK`` stops google-auth from probing a metadata server that is not there;
* ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` stops gcsfs from a gRPC call the emulator cannot answer
  (each operation would otherwise take 40-60 s);
* ``HF_HUB_OFFLINE`` keeps ``datasets`` from reaching for the Hugging Face Hub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

LOCAL_PROJECT = "local-project"
LOCAL_LOCATION = "us-central1"
LOCAL_BUCKET = "gemini-qa-tuning"
LOCAL_TOKEN = "local-emulator-token"


CREDENTIAL_FILE_MODE = 0o600


def write_token_file(folder: Path) -> Path:
    """An ``authorized_user`` credential holding a fixed, far-future access token, readable by its owner only.

    The token is worthless outside the emulators, but the file has the shape of a real credential and is
    where a real one would go: it gets a real credential's mode (0600), also when it already existed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "local-credentials.json"
    content = json.dumps(
        {
            "type": "authorized_user",
            "client_id": "local-emulator",
            "client_secret": "local-emulator",
            "refresh_token": "local-emulator",
            "token": LOCAL_TOKEN,
            "expiry": "2999-01-01T00:00:00Z",
        }
    )
    # Created with the mode (never briefly world-readable), and a file left by an older version is tightened.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CREDENTIAL_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), CREDENTIAL_FILE_MODE)
        file.write(content)
    return path


def google_cloud_connection(credential_file: Path, vertex_base_url: str) -> str:
    """The ``google_cloud_default`` connection as the JSON an ``AIRFLOW_CONN_*`` variable takes."""
    return json.dumps(
        {
            "conn_type": "google_cloud_platform",
            "extra": {
                "project": LOCAL_PROJECT,
                "credential_config_file": str(credential_file),
                "vertex_ai_base_url": vertex_base_url,
            },
        }
    )


def local_environment(gcs_endpoint: str, vertex_base_url: str, state_folder: Path) -> dict[str, str]:
    """Environment variables for a process that should talk to the local emulators."""
    credential_file = write_token_file(state_folder)
    return {
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "GOOGLE_VERTEX_BASE_URL": vertex_base_url,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": google_cloud_connection(credential_file, vertex_base_url),
        "NO_GCE_CHECK": "true",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
