#!/usr/bin/env python3
"""Validate schemas/openapi.yaml (openapi-spec-validator) and print its routes, one "METHOD /path" per line."""
import sys

import yaml
from openapi_spec_validator import validate

with open(sys.argv[1]) as f:
    spec = yaml.safe_load(f)
validate(spec)
for path, item in sorted(spec.get("paths", {}).items()):
    for method in ("get", "put", "post", "patch", "delete", "head", "options"):
        if method in item:
            print(f"{method.upper()} {path}")
