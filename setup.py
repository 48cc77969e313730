"""Everything about the package is in pyproject.toml, but for one step: the wheel carries the
desk's templates/ and static/ inside the contactcenter package. They sit at the top of the
checkout (the design card), where no package can list them as its data; the settings look for
them in either place (contactcenter/settings.py: ASSETS_DIR)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = ("templates", "static")


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install serves them from the checkout
        for name in ASSETS:
            shutil.copytree(Path(name), Path(self.build_lib, "contactcenter", name), dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithAssets})
