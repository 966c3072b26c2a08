"""Batched upserts for the importer: COPY on PostgreSQL, bulk_create elsewhere."""

from __future__ import annotations

from django.db import connection

# False sends every batch with bulk_create, as on SQLite (tests cover both paths).
USE_COPY = True


def _staging_table(table: str) -> str:
    return connection.ops.quote_name(f"import_{table}")


class Upserter:
    """Writes batches of model instances; `close()` drops its staging tables."""

    def __init__(self) -> None:
        self.staging_tables: set[str] = set()

    def upsert(self, objs: list, *, unique_fields: list[str], update_fields: list[str]) -> None:
        """Insert `objs` (one model); rows clashing on `unique_fields` get `update_fields`.

        On PostgreSQL the rows go through COPY into a temporary table and one
        INSERT ... SELECT ... ON CONFLICT: the same statement bulk_create would
        send, without building and parsing a statement with 30,000 literals.
        Values are prepared by the fields themselves, as bulk_create does.
        """
        model = type(objs[0])
        if not (USE_COPY and connection.vendor == "postgresql"):
            model._base_manager.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=unique_fields,
                update_fields=update_fields,
            )
            return
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.generated]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        staging = _staging_table(meta.db_table)
        with connection.cursor() as cursor:
            if meta.db_table not in self.staging_tables:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
                    f"SELECT {columns} FROM {connection.ops.quote_name(meta.db_table)} WITH NO DATA"
                )
                self.staging_tables.add(meta.db_table)
            with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row(
                        [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                    )
            conflict = ", ".join(
                connection.ops.quote_name(meta.get_field(name).column) for name in unique_fields
            )
            updates = ", ".join(
                f"{c} = EXCLUDED.{c}"
                for c in (
                    connection.ops.quote_name(meta.get_field(n).column) for n in update_fields
                )
            )
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {staging} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"TRUNCATE {staging}")

    def close(self) -> None:
        # ON COMMIT DROP is not enough when our transaction is a savepoint
        # inside a longer one (which may import again).
        if self.staging_tables:
            with connection.cursor() as cursor:
                for table in self.staging_tables:
                    cursor.execute(f"DROP TABLE {_staging_table(table)}")
        self.staging_tables.clear()
