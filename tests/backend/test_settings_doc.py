"""The README's settings table names every variable the settings module reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_documents_every_setting_read_from_the_environment():
    source = (ROOT / "backend" / "settings.py").read_text()
    names = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', source))
    assert len(names) > 10
    readme = (ROOT / "README.md").read_text()
    settings_section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = sorted(name for name in names if f"`{name}`" not in settings_section)
    assert missing == []
