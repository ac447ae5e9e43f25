"""Global settings, read once from ``GRAPHC_FLAGS`` (``key=value,key=value``) as Theano users expect."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

_FLOAT_DTYPES = ("float32", "float64")


@dataclass
class Config:
    floatX: str = "float64"
    backend: str = "c"
    cflags_opt: str = "-O2"
    cflags_extra: str = ""  # more C compiler flags, space-separated (part of the cache key), e.g. sanitizers
    march: str = "native"
    openmp_threshold: int = 32768
    check_rewrites: int = 0  # 1: re-validate the graph after every rewrite pass (debugging)
    cuda_arch: str = "80,90"  # SM targets of the cuda backend (machine code for each, PTX of the first)

    def __setattr__(self, name: str, value) -> None:
        if name == "floatX" and value not in _FLOAT_DTYPES:
            raise ValueError(f"config.floatX must be one of {_FLOAT_DTYPES}, got {value!r}")
        if name == "backend" and value not in ("c", "cuda", "py"):
            raise ValueError(f"config.backend must be 'c', 'cuda' or 'py', got {value!r}")
        super().__setattr__(name, value)


def _parse_flags(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        if "=" not in item:
            raise ValueError(f"GRAPHC_FLAGS entry {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _from_environment() -> Config:
    cfg = Config()
    types = {f.name: f.type for f in fields(Config)}
    for key, value in _parse_flags(os.environ.get("GRAPHC_FLAGS", "")).items():
        if key not in types:
            raise ValueError(f"GRAPHC_FLAGS names unknown setting {key!r}; known: {sorted(types)}")
        setattr(cfg, key, int(value) if types[key] in (int, "int") else value)
    return cfg


config = _from_environment()
