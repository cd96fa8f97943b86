"""Turn a typed Python function into a tool definition: name, description, JSON schema, validator.

All the work happens once, in ``function_schema``, when a tool is decorated; validating a
call afterwards is a single pydantic call on an argument model built here.

How a schema is built:

1. ``inspect.signature`` and ``typing.get_type_hints(include_extras=True)`` give each
   parameter's type and default. ``*args``, ``**kwargs``, positional-only and unannotated
   parameters are rejected. A first parameter annotated with the context type
   (``RunContext[...]``) is left out: the caller injects it, the model never sees it.
   A callable object is read through its ``__call__``; a ``functools.partial`` through its
   function, minus the arguments it binds. A pydantic ``Field(...)`` is honoured both inside
   ``Annotated`` and as the default (its constraints, description and default all count).
   Before Python 3.12, ``typing.TypedDict`` classes are rebuilt as ``typing_extensions`` ones,
   which pydantic accepts.
2. The docstring (Google, NumPy, reST or Epydoc, read by ``docstring-parser``; the style is
   detected, or set with ``docstring_format=``) gives the tool description (summary and long
   description) and the parameter descriptions. A tool that ends up without a description
   is logged as a warning on the ``agentkit.schema`` logger.
   **Precedence rule:** a description given in the type itself (``Annotated[X, "text"]`` or
   ``Annotated[X, Field(description="text")]``) wins over the docstring's. A docstring
   parameter that is not in the signature is an error.
3. ``pydantic.create_model`` builds the argument model (``extra="forbid"``; nested pydantic
   models that leave ``extra`` unset, also inside dataclasses and TypedDicts, are swapped
   for subclasses that forbid it too) and
   ``model_json_schema`` its schema, which is then made self-contained: every ``$ref`` is
   inlined, so nested models, dataclasses, TypedDicts and enums appear in place. The one
   exception is a recursive type, which cannot be inlined: it stays in ``$defs`` and is
   referenced with ``$ref``. Many OpenAI-compatible servers mishandle ``$ref``; avoid
   recursive parameter types if you target them. Auto-generated ``title`` keys are dropped.
4. In strict mode the schema is rewritten to OpenAI's strict subset (see ``schema.strict``).

Lazily validated types (``Iterable[X]``) are validated in full before the function runs and
arrive as lists.

Validation is strict JSON validation: ``"5"`` is not accepted for an integer, nor ``1.0``
(send ``1``); ``set[X]`` accepts repeated items and merges them, which is why its schema
does not carry ``uniqueItems``.

The package's modules, one step each: ``signature`` (read the callable), ``docstrings``,
``fields`` (parameters to the pydantic model), ``inline`` and ``strict`` (schema passes),
``build`` (``function_schema``), ``validation`` (``FunctionSchema.validate``) with
``argument_errors``, ``type_fixes`` (pydantic workarounds), ``raw`` (``Tool.from_schema``)
and ``values`` (one value validated by the same rules: structured output).
Only the names below are public.
"""

from agentkit.schema.build import function_schema
from agentkit.schema.docstrings import DocstringFormat
from agentkit.schema.validation import FunctionSchema

__all__ = ["DocstringFormat", "FunctionSchema", "function_schema"]
