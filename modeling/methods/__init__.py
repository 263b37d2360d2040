"""The realism methods: one registry (`METHODS`), a config file each (modeling/configs/<name>.json).

A method is registered under its name with `@register`; `method_make(name, overrides)` builds it
from its config file with any overrides applied. Importing this package imports every method
module, so the registry is complete wherever it is used.
"""
from .base import METHODS, FrameSource, Method, MethodUnavailable, TrainContext, config_load, method_make, register

# Each module registers its methods: "svr"; "daclip"; "opdai", "hust", "unilj"; "clipiqa".
from . import clipiqa, daclip, finetune, svr  # noqa: E402,F401  isort: skip

__all__ = ["METHODS", "FrameSource", "Method", "MethodUnavailable", "TrainContext", "config_load", "method_make", "register"]
