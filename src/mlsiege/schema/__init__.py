"""Feature space and domain constraints: types, bounds, mutability, relations, repair, projection."""

from mlsiege.schema.expressions import Expression
from mlsiege.schema.features import Constraint, Feature
from mlsiege.schema.infer import infer_schema
from mlsiege.schema.schema import Schema, Violation, read_schema

__all__ = ["Constraint", "Expression", "Feature", "Schema", "Violation", "infer_schema", "read_schema"]
