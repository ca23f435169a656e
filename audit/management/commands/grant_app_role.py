"""Give the serving role what it needs and no more: every table's rows, except the audit
trail's, which it may only read and append to.

Run by the table owner after ``migrate`` (compose's ``migrate`` service does). The serving
role owns nothing, so it cannot ALTER a table (no disabling of the append-only triggers),
TRUNCATE, or change ``session_replication_role`` (superusers only); on the audit tables it
has INSERT and SELECT alone, so even with the triggers gone it could not UPDATE or DELETE.
Idempotent: run it after every migration, so new tables are covered too.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from psycopg import sql

# Append-only: the serving role may read and insert, nothing else.
APPEND_ONLY_TABLES = ("audit_auditevent", "audit_auditseal")


class Command(BaseCommand):
    help = "Grant the serving database role row access, and only INSERT/SELECT on the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the web and worker processes connect as")

    def handle(self, *args: Any, role: str, **options: Any) -> None:
        who = sql.Identifier(role)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(who),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
        ]
        for table in APPEND_ONLY_TABLES:
            statements.append(
                sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(sql.Identifier(table), who)
            )
            statements.append(
                sql.SQL("GRANT SELECT, INSERT ON TABLE {} TO {}").format(sql.Identifier(table), who)
            )
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            f"granted {role}: rows of every table; only SELECT, INSERT on "
            + ", ".join(APPEND_ONLY_TABLES)
        )
