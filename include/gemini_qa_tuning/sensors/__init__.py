"""Airflow sensors: waits on external systems, deferrable to the triggerer."""

from gemini_qa_tuning.sensors.tuning import TuningJobSensor

__all__ = ["TuningJobSensor"]
