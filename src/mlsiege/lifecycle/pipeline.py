"""A user's description of their ML lifecycle, loaded from YAML with errors that name the line.

The file lists the stages (collect, validate, transform, train, evaluate, serve, monitor, reuse),
each with the controls in place (names from :data:`~mlsiege.lifecycle.controls.CONTROL_CATALOG`),
the data sources at ``collect`` (trusted or not, who can write to them), and optional pointers to
real artefacts (data, model, schema, trainer) for the dynamic audit. See ``mlsiege lifecycle init``
for a commented template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlsiege.errors import ConfigError
from mlsiege.lifecycle.controls import CONTROL_CATALOG, STAGES

__all__ = ["PipelineError", "PipelineSpec", "Source", "StageSpec", "load_pipeline", "parse_pipeline"]

WRITERS = ("public", "partners", "internal")
EXPOSURES = ("public", "authenticated", "internal")
RETRAINING = ("none", "periodic", "periodic-cleaned")
ARTEFACT_KEYS = ("data", "label", "model", "schema", "trainer", "class_column", "kind", "threshold", "positive_label")


class PipelineError(ConfigError):
    """A pipeline file is invalid; the message names the file, line and key."""


@dataclass(frozen=True)
class Source:
    name: str
    trusted: bool = False
    writers: str = "public"


@dataclass(frozen=True)
class StageSpec:
    name: str
    controls: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def has(self, control: str) -> bool:
        return control in self.controls


@dataclass(frozen=True)
class PipelineSpec:
    """A validated lifecycle description."""

    name: str
    stages: Mapping[str, StageSpec]
    artefacts: Mapping[str, Any] = field(default_factory=dict)
    maturity: str | None = None
    path: str | None = None

    def stage(self, name: str) -> StageSpec:
        return self.stages.get(name) or StageSpec(name)

    def controls_at(self, stage: str) -> set[str]:
        return set(self.stage(stage).controls)

    def has_anywhere(self, control: str) -> bool:
        return any(control in s.controls for s in self.stages.values())

    @property
    def sources(self) -> tuple[Source, ...]:
        return self.stage("collect").sources


# ---------------------------------------------------------------------- loading
class _Located:
    """Line numbers of every key path in the YAML document, for error messages."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.lines: dict[tuple, int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                k = key.value
                self.lines[path + (k,)] = key.start_mark.line + 1
                self._walk(value, path + (k,))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                self._walk(value, path + (i,))

    def line(self, path: tuple) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


class _Loader:
    def __init__(self, text: str, where: str) -> None:
        self.where = where
        try:
            self.doc = yaml.safe_load(text)
            self.loc = _Located(yaml.compose(text))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f"line {mark.line + 1}" if mark else "unknown line"
            raise PipelineError(f"{where}: {line}: invalid YAML: {exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise PipelineError(f"{where}: invalid YAML: {exc}") from None

    def fail(self, path: tuple, message: str) -> PipelineError:
        line = self.loc.line(path)
        key = ".".join(str(p) for p in path) or "(document)"
        return PipelineError(f"{self.where}: line {line}: key '{key}': {message}")

    def mapping(self, value: Any, path: tuple) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        return value

    def parse(self) -> PipelineSpec:
        doc = self.doc
        if not isinstance(doc, Mapping):
            raise self.fail((), "a pipeline file is a mapping with 'stages'")
        unknown = set(doc) - {"version", "name", "maturity", "stages", "artefacts"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail((key,), "unknown top-level key (expected version, name, maturity, stages, artefacts)")
        stages_doc = self.mapping(doc.get("stages"), ("stages",))
        if not stages_doc:
            raise self.fail(("stages",), "no stages described")
        stages = {}
        for name, body in stages_doc.items():
            if name not in STAGES:
                raise self.fail(("stages", name), f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
            stages[name] = self._stage(name, self.mapping(body, ("stages", name)))
        artefacts = dict(self.mapping(doc.get("artefacts"), ("artefacts",)))
        for key in artefacts:
            if key not in ARTEFACT_KEYS:
                raise self.fail(("artefacts", key), f"unknown artefact; expected one of {', '.join(ARTEFACT_KEYS)}")
        return PipelineSpec(str(doc.get("name") or "pipeline"), stages, artefacts, doc.get("maturity"), self.where)

    def _stage(self, name: str, body: Mapping[str, Any]) -> StageSpec:
        path = ("stages", name)
        allowed = {"controls", "sources", "exposure", "retraining", "shared_with", "notes"}
        for key in body:
            if key not in allowed:
                raise self.fail(path + (key,), f"unknown key in stage {name!r}; expected {', '.join(sorted(allowed))}")
        controls: dict[str, Mapping[str, Any]] = {}
        raw = body.get("controls") or []
        if not isinstance(raw, list):
            raise self.fail(path + ("controls",), "controls is a list of names (or {name: {options}})")
        for i, entry in enumerate(raw):
            cname, opts = (entry, {}) if isinstance(entry, str) else (None, None)
            if isinstance(entry, Mapping) and len(entry) == 1:
                cname, opts = next(iter(entry.items()))
                opts = dict(opts or {})
            if cname is None:
                raise self.fail(path + ("controls", i), f"a control is a name or {{name: {{options}}}}, got {entry!r}")
            info = CONTROL_CATALOG.get(cname)
            if info is None:
                raise self.fail(path + ("controls", i), f"unknown control {cname!r}; known: {', '.join(sorted(CONTROL_CATALOG))}")
            if name not in info.stages:
                raise self.fail(path + ("controls", i), f"control {cname!r} does not belong at stage {name!r} (it belongs at {', '.join(info.stages)})")
            controls[cname] = opts
        sources = []
        for i, s in enumerate(body.get("sources") or []):
            spath = path + ("sources", i)
            if name != "collect":
                raise self.fail(spath, "sources are described at the collect stage")
            s = self.mapping(s, spath)
            if "name" not in s:
                raise self.fail(spath, "a source needs a name")
            writers = s.get("writers", "public")
            if writers not in WRITERS:
                raise self.fail(spath + ("writers",), f"writers must be one of {', '.join(WRITERS)}")
            sources.append(Source(str(s["name"]), bool(s.get("trusted", False)), writers))
        options = {k: body[k] for k in ("exposure", "retraining", "shared_with") if k in body}
        if options.get("exposure", "public") not in EXPOSURES:
            raise self.fail(path + ("exposure",), f"exposure must be one of {', '.join(EXPOSURES)}")
        if options.get("retraining", "none") not in RETRAINING:
            raise self.fail(path + ("retraining",), f"retraining must be one of {', '.join(RETRAINING)}")
        return StageSpec(name, controls, tuple(sources), options)


def parse_pipeline(text: str, where: str = "<pipeline>") -> PipelineSpec:
    """Validate a pipeline description given as YAML text."""
    return _Loader(text, where).parse()


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Load and validate a pipeline file."""
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"pipeline file not found: {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"cannot read pipeline file {path}: {exc}") from exc
    return parse_pipeline(text, str(path))
