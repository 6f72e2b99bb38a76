"""Annotation of pairs by LLMs: rationales and strengths (RDPO, HelpSteer2-Preference), blind votes in both
orders, and label noise (see each module)."""

from prefmill.transforms.annotate.config import AnnotateConfig, NoiseConfig
from prefmill.transforms.annotate.stage import AnnotatePairs, AttachAnnotations

__all__ = ["AnnotateConfig", "AnnotatePairs", "AttachAnnotations", "NoiseConfig"]
