"""The synthetic national workload behind `safereport demo`."""

from safereport.demo.generate import SCENARIOS, LabelledRequest, Workload, generate_workload

__all__ = ["SCENARIOS", "LabelledRequest", "Workload", "generate_workload"]
