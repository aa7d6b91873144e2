#!/usr/bin/env python3
"""Validate stored envelopes against schemas/{commands,events}/<Type>.v<schemaVersion>.json.

usage: check-schemas.py SCHEMAS_DIR commands|events FILE.json [FILE.json ...]
Each FILE holds one envelope as written to the log. Prints one line per failure; exits 1 if any fail.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    kind = sys.argv[2]
    resources = []
    for path in root.rglob("*.json"):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    failures = 0
    for name in sys.argv[3:]:
        envelope = json.loads(pathlib.Path(name).read_text())
        schema_path = root / kind / f"{envelope.get('type')}.v{envelope.get('schemaVersion')}.json"
        if not schema_path.exists():
            print(f"{name}: no schema {schema_path}")
            failures += 1
            continue
        validator = Draft202012Validator(json.loads(schema_path.read_text()), registry=registry)
        errors = sorted(validator.iter_errors(envelope), key=lambda e: list(e.path))
        for error in errors:
            print(f"{name}: {envelope.get('type')} at /{'/'.join(map(str, error.path))}: {error.message}")
        failures += bool(errors)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
