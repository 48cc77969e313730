"""Reads and writes of the callback hot path compiled once per process, not once per callback.

Django compiles a queryset to SQL every time it runs, column by column: for the call and its
members, loaded on every callback, that compilation cost more CPU than the rest of the intake's
reads and SQLite's own work together (py-spy and cProfile in docs/benchmarks.md). A `PreparedRead`
compiles its queryset once per database connection alias, with stand-in parameters it then
finds in the compiled parameters, and afterwards runs the same SQL with the real ones: the same
rows, converted by Django's own converters and made into model instances as the queryset would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.signals import post_save


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: list[int]  # for each SQL parameter, which argument it is
    attnames: list[str]
    compiler: object
    converters: dict


class PreparedRead:
    """`PreparedRead(lambda a, b: Model.objects.filter(x=a, y=b), stand_ins=(…, …))`, then
    `read(a, b)` → model instances. The queryset must select one model's own columns (no
    select_related, values or annotations) and take its arguments only as filter values;
    `stand_ins` are values no real argument takes, one per argument, all different."""

    def __init__(self, build: Callable[..., QuerySet], *, stand_ins: tuple) -> None:
        self.build = build
        self.stand_ins = stand_ins
        self._model: type[Model] | None = None  # known once built (models may not be loaded at import)
        self._compiled: dict[str, _Compiled] = {}

    def read(self, *args) -> list[Model]:
        if self._model is None:
            self._model = self.build(*self.stand_ins).model
        alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(self.build(*self.stand_ins), alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, [args[i] for i in compiled.positions])
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return [self._model.from_db(alias, compiled.attnames, row) for row in rows]

    def _compile(self, queryset: QuerySet, alias: str) -> _Compiled:
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if compiler.klass_info is None or compiler.klass_info.get("related_klass_infos"):
            raise ValueError("a PreparedRead selects one model's own columns")
        positions = []
        for param in params:
            matches = [i for i, stand_in in enumerate(self.stand_ins) if stand_in == param]
            if len(matches) != 1:
                raise ValueError(f"parameter {param!r} is not exactly one of the stand-ins")
            positions.append(matches[0])
        columns = [expression for expression, _, _ in compiler.select]
        attnames = [column.target.attname for column in columns]
        concrete = [field.attname for field in queryset.model._meta.concrete_fields]
        if attnames != concrete:
            raise ValueError("a PreparedRead selects every concrete column, in the model's order")
        return _Compiled(sql, positions, attnames, compiler, compiler.get_converters(columns))


class PreparedUpdate:
    """`PreparedUpdate(Model).write(instance, ["a", "b"])`: what `instance.save(update_fields=["a",
    "b"])` writes, with its SQL built once per set of columns and database, not compiled per save.

    The values are prepared by each field as Django's own UPDATE prepares them (`get_db_prep_save`),
    and `post_save` is sent as a save would send it (`created=False`, the fields written), so
    receivers (the history's read model, the reports' counted quarters) see every write. What a save
    does besides is left out on purpose: `pre_save`, a field's `pre_save` (no `auto_now` field is
    written here), an INSERT when no row matched (the row is ours, locked in this transaction)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._sql: dict[tuple[str, tuple[str, ...]], tuple[str, list]] = {}

    def write(self, instance: Model, field_names: list[str]) -> None:
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        key = (alias, tuple(field_names))
        built = self._sql.get(key)
        if built is None:
            built = self._sql[key] = self._build(connection, field_names)
        sql, fields = built
        values = [field.get_db_prep_save(getattr(instance, field.attname), connection=connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, instance.pk])
        post_save.send(sender=self.model, instance=instance, created=False, update_fields=frozenset(field_names),
                       raw=False, using=alias)

    def _build(self, connection, field_names: list[str]) -> tuple[str, list]:
        meta = self.model._meta
        fields = [meta.get_field(name) for name in field_names]
        quote = connection.ops.quote_name
        columns = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        return f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s", fields


class PreparedInsert:
    """`PreparedInsert(Model).insert(instance)`: `Model.objects.bulk_create([instance])` for a model
    of plain columns, with its SQL built once per database, not compiled per insert (bulk_create's
    compiler was about 6 % of the server's samples at 100 callbacks/s, docs/benchmarks.md).

    Each value is prepared by its field as Django's INSERT prepares it (`pre_save`, then
    `get_db_prep_save`). Like bulk_create, it sends no signal; unlike it, the new row's id is not
    read back (`instance.pk` stays None: the callback's row is written, never read, on its path),
    and related objects must already be saved. A model with a generated column or a database
    default is refused: those need bulk_create's own handling."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._sql: dict[str, tuple[str, list]] = {}

    def insert(self, instance: Model) -> None:
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        built = self._sql.get(alias)
        if built is None:
            built = self._sql[alias] = self._build(connection)
        sql, fields = built
        values = [field.get_db_prep_save(field.pre_save(instance, True), connection=connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)

    def _build(self, connection) -> tuple[str, list]:
        meta = self.model._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        special = [field.name for field in fields if field.generated or field.has_db_default()]
        if special:
            raise ValueError(f"PreparedInsert writes plain columns only, not {special}")
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})", fields
