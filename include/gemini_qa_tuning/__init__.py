"""Tune Gemini for SQuAD-style question answering on Vertex AI, evaluate it, and promote a champion.

Domain modules (dataset, prompt, metrics, evaluation, tuning, champion) are plain Python with no
Airflow import; the Airflow adapters live in ``hooks``, ``operators``, ``sensors`` and ``triggers``.
"""

__version__ = "0.1.0"
