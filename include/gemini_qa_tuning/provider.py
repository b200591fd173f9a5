"""What this package registers with Airflow as a provider: its hook, trigger, operators, sensors and link.

Airflow's ``ProvidersManager`` calls :func:`get_provider_info` through the ``apache_airflow_provider``
entry point in ``pyproject.toml``. Installing the wheel is therefore all a Cloud Composer environment (or
any Airflow) needs: the scheduler, the triggerer, the workers and the api-server all see the package's
classes without anything copied to ``plugins/``.

What registration gives, in Airflow 3.3:

* ``extra-links``: ``airflow providers links`` lists the console link and the artifact links, and Airflow
  checks that each class imports. The UI itself shows the URL the task stored under the link's XCom key
  (serialized DAGs keep only ``{name: xcom_key}``), so the button works wherever the task ran;
* ``triggers``: ``airflow providers triggers`` lists the module holding ``TuningJobTrigger``;
* ``operators``/``sensors``/``hooks``/``integrations``: the same inventory the Google provider publishes.

No ``connection-types``: the hook uses the Google provider's ``google_cloud_platform`` connection type,
and registering it a second time would compete with the provider that owns it.

Only strings here: Airflow reads this at start-up in every component, so it must import nothing heavy.
"""

from __future__ import annotations

from typing import Any

from gemini_qa_tuning import __version__

#: The distribution name (``pyproject.toml`` ``[project] name``); Airflow refuses a mismatch.
PACKAGE_NAME = "gemini-qa-tuning"
INTEGRATION_NAME = "Gemini tuning on Vertex AI"

HOOK_MODULE = "gemini_qa_tuning.hooks.genai"
OPERATOR_MODULES = ("gemini_qa_tuning.operators.tuning", "gemini_qa_tuning.operators.evaluation")
SENSOR_MODULE = "gemini_qa_tuning.sensors.tuning"
#: The tuning job's wait and the batch evaluation's wait (``eval_mode`` batch), both run by the triggerer.
TRIGGER_MODULES = ("gemini_qa_tuning.triggers.tuning", "gemini_qa_tuning.triggers.batch")
LINK_CLASS = "gemini_qa_tuning.links.vertex_ai.VertexTuningJobLink"
#: The links to a run's artifacts (report, metrics.json, dataset folder, tuned model, endpoint) that the
#: pipeline DAG gives its tasks (``gemini_qa_tuning.links.artifacts``; a test keeps the list complete).
ARTIFACT_LINK_CLASSES = tuple(
    f"gemini_qa_tuning.links.artifacts.{name}"
    for name in ("DatasetFolderLink", "MetricsLink", "TunedModelLink", "EndpointLink", "RunReportLink")
)


def get_provider_info() -> dict[str, Any]:
    """The provider description Airflow validates against its ``provider_info.schema.json``.

    The shape is Airflow's (a JSON-like mapping with hyphenated keys), not ours, hence the loose type.
    """
    return {
        "package-name": PACKAGE_NAME,
        "name": "Gemini QA tuning",
        "description": (
            "Tune Gemini on Vertex AI for question answering: a launch operator that creates each tuning job "
            "once, a deferrable sensor and its trigger, an evaluation operator (online, or one deferred batch "
            "prediction job per model), a google-genai hook, a console link and links to a run's artifacts."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION_NAME,
                "external-doc-url": "https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-models",
                "tags": ["gcp"],
            }
        ],
        "operators": [{"integration-name": INTEGRATION_NAME, "python-modules": list(OPERATOR_MODULES)}],
        "sensors": [{"integration-name": INTEGRATION_NAME, "python-modules": [SENSOR_MODULE]}],
        "hooks": [{"integration-name": INTEGRATION_NAME, "python-modules": [HOOK_MODULE]}],
        "triggers": [{"integration-name": INTEGRATION_NAME, "python-modules": list(TRIGGER_MODULES)}],
        "extra-links": [LINK_CLASS, *ARTIFACT_LINK_CLASSES],
    }
