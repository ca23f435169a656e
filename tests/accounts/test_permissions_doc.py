"""docs/permissions.md is rendered from accounts.roles and must not drift from it."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.roles import render_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "permissions.md"


def test_the_committed_permission_table_matches_the_code():
    assert DOC.read_text(encoding="utf-8") == render_markdown()


def test_render_permissions_writes_the_table(tmp_path):
    output = tmp_path / "permissions.md"

    call_command("render_permissions", output=output)

    assert output.read_text(encoding="utf-8") == render_markdown()


def test_render_permissions_check_fails_on_a_stale_file(tmp_path):
    output = tmp_path / "permissions.md"
    output.write_text("# out of date\n", encoding="utf-8")

    with pytest.raises(CommandError, match="out of date"):
        call_command("render_permissions", output=output, check=True)
